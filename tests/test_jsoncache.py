"""The one JSON cache: files written by the caches it replaced are read and hit, byte for byte."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ccpapers.builder.cache import ReplyCache, request_key
from ccpapers.jsoncache import JsonCache


def test_reply_cache_reads_and_writes_the_old_layout(tmp_path: Path) -> None:
    payload = {"messages": [{"role": "user", "content": "Grüße"}], "max_tokens": 5}
    material = {"backend": "openai", "model": "m", "payload": payload, "generator": "qa/1", "variant": 0}
    # the key and the file exactly as the build's cache wrote them before the shared module
    key = hashlib.sha256(
        json.dumps(material, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()
    assert request_key("openai", "m", payload, "qa/1", 0) == key
    entry = {"raw": {"text": "Grüße"}, "backend": "openai", "cost_usd": 0.0}
    old = tmp_path / key[:2] / f"{key}.json"
    old.parent.mkdir()
    old.write_text('{"backend":"openai","cost_usd":0.0,"raw":{"text":"Grüße"}}', encoding="utf-8")
    cache = ReplyCache(tmp_path)
    assert cache.has(key) and cache.get(key) == entry
    cache.put(key, entry)  # rewriting it gives the same bytes
    assert old.read_text(encoding="utf-8") == '{"backend":"openai","cost_usd":0.0,"raw":{"text":"Grüße"}}'


def test_damaged_entry_is_a_miss_and_reported(tmp_path: Path) -> None:
    seen = []
    cache = JsonCache(tmp_path, required=("rows",), on_damaged=lambda p, why: seen.append((p.name, why)))
    (tmp_path / "k1.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "k2.json").write_text('{"other": 1}', encoding="utf-8")
    assert cache.get("k1") is None and cache.get("k2") is None and cache.get("absent") is None
    assert [n for n, _ in seen] == ["k1.json", "k2.json"] and seen[1][1] == "lacks ['rows']"
    cache.put("k2", {"rows": []})
    assert cache.get("k2") == {"rows": []}
