// Serves the telegram-test-api emulator (npm devDependency) on 127.0.0.1:<port> until SIGTERM.
// Usage: node tests/peers/telegram_test_api.js <port>; prints "listening <url>" once it accepts requests.
//
// Two answers are ours, where the emulator departs from the Bot API: getMe (its User lacks the required
// is_bot, which aiogram rightly refuses) and the long poll (its getUpdates returns at once, which would
// spin a polling bot; here an empty poll is answered after a short wait, as Telegram holds it).
const http = require('http');
const TelegramServer = require('telegram-test-api');

const port = Number(process.argv[2]);
const emulator = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 600 });
const app = emulator.webServer;
const botCall = /^\/bot([^/]+)\/(\w+)/;

const server = http.createServer((req, res) => {
  const call = botCall.exec(req.url);
  if (call && call[2] === 'getMe') {
    res.setHeader('Content-Type', 'application/json');
    const me = { id: Number(call[1].split(':')[0]), is_bot: true, first_name: 'Loyalty', username: 'loyalty_test_bot' };
    res.end(JSON.stringify({ ok: true, result: me }));
    return;
  }
  if (call && call[2] === 'getUpdates') {
    const waiting = emulator.storage.userMessages.some((u) => u.botToken === call[1] && !u.isRead);
    setTimeout(() => app(req, res), waiting ? 0 : 250);
    return;
  }
  app(req, res);
});
server.listen(port, '127.0.0.1', () => console.log(`listening ${emulator.config.apiURL}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
