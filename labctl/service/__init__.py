"""The asyncio HTTP service next to the bench (issue 6)."""
