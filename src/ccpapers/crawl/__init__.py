"""Crawl stage: discover, fetch and parse CC-licensed papers."""
