"""Posts: what people say in a channel, and the one reaction, *same*."""
