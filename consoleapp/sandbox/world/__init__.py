"""The simulated licenses: their agents, bots, groups, customers and chats, and the scenarios
that make something happen on them."""
