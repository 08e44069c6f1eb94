"""From transitions to messages: receivers and how they render."""
