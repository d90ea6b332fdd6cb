"""Apple Wallet and Google Wallet cards for members."""
