"""Real instrument drivers (asyncio), built on the transports of ``labctl.core``."""
