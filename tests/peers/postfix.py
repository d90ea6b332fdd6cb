"""A private Postfix instance on 127.0.0.1 for the mail tests: its own config, queue and port, no relaying.

Mail for DOMAIN is delivered by Postfix's virtual(8) agent into one Maildir per known mailbox; any other
recipient is refused at RCPT and anything not local bounces (``default_transport = error``). Installed with
apt when missing; if Postfix cannot be installed or started the caller's test fails.
"""

from __future__ import annotations

import email
import email.policy
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

DOMAIN = "inbox.test"
POSTFIX = "/usr/sbin/postfix"
MASTER_CF = """\
smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def ensure_installed() -> None:
    if Path(POSTFIX).exists():
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=300", "postfix"]
    if subprocess.run(install, env=env, capture_output=True, timeout=900).returncode != 0:
        # a fresh machine's package lists may be stale or empty: refresh them once and try again
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
        subprocess.run(install, check=True, env=env, capture_output=True, timeout=900)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Postfix:
    """A running instance: ``port`` to submit to, ``messages(user)`` to read what was delivered."""

    def __init__(self, root: Path, port: int, users: tuple[str, ...]) -> None:
        self.root, self.port, self.users = root, port, users
        self.config = root / "etc"
        self.mail = root / "mail"

    def postfix(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [POSTFIX, "-c", str(self.config), *args], capture_output=True, text=True, timeout=60, check=False
        )

    def write_config(self) -> None:
        owner = pwd.getpwnam("postfix")
        for path in (self.config, self.root / "spool", self.root / "data"):
            path.mkdir(parents=True)
        self.mail.mkdir()
        os.chown(self.mail, owner.pw_uid, owner.pw_gid)
        os.chown(self.root / "data", owner.pw_uid, owner.pw_gid)
        mailboxes = ", ".join(f"{user}@{DOMAIN}={user}/" for user in self.users)
        main_cf = {
            "compatibility_level": "3.6",
            "queue_directory": self.root / "spool",
            "data_directory": self.root / "data",
            "maillog_file": self.root / "maillog",
            "maillog_file_prefixes": self.root,
            "myhostname": "mx." + DOMAIN,
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "smtpd_banner": "$myhostname ESMTP",
            "mydestination": "",
            "relayhost": "",
            "mynetworks": "127.0.0.0/8",
            "default_transport": "error:this test server sends nothing out",
            "relay_transport": "error:this test server relays nothing",
            "local_transport": "error:no local delivery",
            "alias_maps": "",
            "alias_database": "",
            "virtual_mailbox_domains": DOMAIN,
            "virtual_mailbox_base": self.mail,
            "virtual_mailbox_maps": f"inline:{{{mailboxes}}}",
            "virtual_uid_maps": f"static:{owner.pw_uid}",
            "virtual_gid_maps": f"static:{owner.pw_gid}",
            "smtputf8_enable": "yes",
            "smtpd_tls_security_level": "none",
            "smtp_tls_security_level": "none",
            "message_size_limit": "10240000",
            "multi_instance_name": f"postfix-test-{self.port}",
            "multi_instance_enable": "no",
        }
        (self.config / "main.cf").write_text("".join(f"{k} = {v}\n" for k, v in main_cf.items()))
        (self.config / "master.cf").write_text(MASTER_CF.replace("smtp      inet", f"127.0.0.1:{self.port} inet"))
        # queue_directory must be root's and postfix's own subdirectories made with the right owners
        result = self.postfix("set-permissions")
        if result.returncode != 0:
            raise RuntimeError(f"postfix set-permissions failed: {result.stderr}")

    def start(self) -> None:
        self.write_config()
        result = self.postfix("start")
        if result.returncode != 0:
            raise RuntimeError(f"postfix start failed: {result.stderr}{self.log()}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"postfix did not listen on 127.0.0.1:{self.port}: {self.log()}")

    def stop(self) -> None:
        self.postfix("stop")

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def raw_messages(self, user: str, *, count: int = 1, timeout: float = 20) -> list[bytes]:
        """The files in ``user``'s Maildir/new, oldest first, once at least ``count`` have arrived."""
        new = self.mail / user / "new"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            files = sorted(new.iterdir(), key=lambda p: p.stat().st_mtime_ns) if new.is_dir() else []
            if len(files) >= count:
                return [path.read_bytes() for path in files]
            time.sleep(0.1)
        raise AssertionError(f"{count} message(s) for {user}@{DOMAIN} not delivered in {timeout}s:\n{self.log()}")

    def messages(self, user: str, *, count: int = 1) -> list[EmailMessage]:
        return [
            email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
            for raw in self.raw_messages(user, count=count)
        ]


@contextmanager
def running_postfix(users: tuple[str, ...] = ("anna", "boris")) -> Iterator[Postfix]:
    if os.geteuid() != 0:
        raise RuntimeError("the Postfix tests start a private Postfix instance, which needs root")
    ensure_installed()
    # not under pytest's 0700 tmp dir: the virtual(8) agent delivers as the postfix user
    root = Path(tempfile.mkdtemp(prefix="loyalty-postfix-"))
    root.chmod(0o755)
    server = Postfix(root, _free_port(), users)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
