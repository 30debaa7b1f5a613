"""Discovery sources (home of the SOURCES registry).

A Source says what to fetch and reads what was fetched; it never downloads. The crawl
pipeline asks it for windows (one per journal and year, or one per DOI file), fetches
each window's page URLs through the polite client and hands the bytes back.
"""

from ccpapers.registry import SOURCES

SOURCES.register("crossref", "ccpapers.crawl.sources.crossref:CrossrefSource")
SOURCES.register("listing", "ccpapers.crawl.sources.listing:ListingSource")
SOURCES.register("dois", "ccpapers.crawl.sources.dois:DoiFileSource")
