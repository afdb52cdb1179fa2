"""Who is asking: passwords, tokens, the principal and the guards that check it."""
