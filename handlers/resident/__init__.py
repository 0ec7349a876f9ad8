"""What a resident does in a private chat with the bot: report a tip and follow it,
subscribe, pledge, take the quiz, read the hotlines, clean up what the chat shows."""
