"""A small in-memory fake of the Hugging Face Hub HTTP API, served on 127.0.0.1.

Enough of the wire protocol for the real ``huggingface_hub`` (2.4) and ``datasets`` (5.2)
clients to create repos, upload with the legacy LFS "basic" transfer (``HF_HUB_DISABLE_XET=1``),
commit (NDJSON), list trees, tag, and download (``resolve`` with ``Range``), so tests can push
and ``load_dataset(repo, config, revision=tag)`` back without any network.

Standard library plus PyYAML only; no dependency on ccpapers. Not covered: Xet (answers 501),
pull requests (501), permissions beyond "a bearer token is present", rate limits, and the
Hub's full YAML rules (``validate-yaml`` checks licence ids, ``other`` + ``license_name`` and
builder-only keys under ``configs``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

USER = "tester"
HUB_LICENSES = {
    "apache-2.0", "mit", "openrail", "other", "unknown", "cc", "cc0-1.0", "cc-by-2.0", "cc-by-2.5",
    "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0",
    "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0",
    "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0", "odc-by", "pddl", "odbl",
}  # fmt: skip
BUILDER_CONFIG_KEYS = {"config_name", "data_files", "data_dir", "default", "features", "sep", "drop_labels"}
LFS_SUFFIXES = (".parquet", ".arrow", ".bin", ".safetensors", ".gz", ".zip", ".zst")


def git_blob_oid(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


@dataclass
class Blob:
    content: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def oid(self) -> str:
        """Git oid: of the pointer for LFS files, of the content otherwise (as on the Hub)."""
        if self.lfs:
            return git_blob_oid(lfs_pointer(self.sha256, len(self.content)))
        return git_blob_oid(self.content)

    def entry(self, path: str) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "file", "path": path, "size": len(self.content), "oid": self.oid}
        if self.lfs:
            pointer = lfs_pointer(self.sha256, len(self.content))
            out["lfs"] = {"oid": self.sha256, "size": len(self.content), "pointerSize": len(pointer)}
        return out


@dataclass
class Commit:
    sha: str
    parent: str | None
    title: str
    message: str
    files: dict[str, Blob]
    date: str


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def resolve(self, rev: str) -> Commit | None:
        rev = unquote(rev)
        for table in (self.branches, self.tags):
            if rev in table:
                return self.commits[table[rev]]
        if rev.startswith("refs/heads/"):
            return self.resolve(rev[len("refs/heads/") :])
        if rev.startswith("refs/tags/"):
            return self.resolve(rev[len("refs/tags/") :])
        if len(rev) >= 7 and re.fullmatch(r"[0-9a-f]+", rev):
            matches = [c for sha, c in self.commits.items() if sha.startswith(rev)]
            if len(matches) == 1:
                return matches[0]
        return None


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, extra: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.extra = status, message, code, extra or {}


class FakeHubState:
    """Everything the fake Hub knows; ``reset()`` between tests."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.repos: dict[tuple[str, str], Repo] = {}
            self.lfs_store: dict[str, bytes] = {}
            self.requests: list[tuple[str, str]] = []  # (method, path) log for assertions
            self.valid_tokens: set[str] | None = None  # None: any bearer token is accepted
            self._counter = 0

    def new_commit(
        self, repo: Repo, parent: Commit | None, files: dict[str, Blob], title: str, msg: str
    ) -> Commit:
        self._counter += 1
        seed = json.dumps([repo.repo_id, parent.sha if parent else None, title, self._counter, sorted(files)])
        sha = hashlib.sha1(seed.encode()).hexdigest()
        date = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        commit = Commit(sha, parent.sha if parent else None, title, msg, files, date)
        repo.commits[sha] = commit
        return commit

    def create_repo(self, repo_type: str, repo_id: str, private: bool) -> Repo:
        key = (repo_type, repo_id)
        if key in self.repos:
            raise HubError(409, "You already created this repo", None)
        repo = Repo(repo_type, repo_id, private)
        attrs = Blob(b"*.parquet filter=lfs diff=lfs merge=lfs -text\n", lfs=False)
        init = self.new_commit(repo, None, {".gitattributes": attrs}, "initial commit", "")
        repo.branches["main"] = init.sha
        self.repos[key] = repo
        return repo

    def get_repo(self, repo_type: str, repo_id: str) -> Repo:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None:
            raise HubError(404, f"Repository Not Found for url: {repo_type}s/{repo_id}.", "RepoNotFound")
        return repo

    def get_commit(self, repo: Repo, rev: str) -> Commit:
        commit = repo.resolve(rev)
        if commit is None:
            raise HubError(404, f"Invalid rev id: {unquote(rev)}", "RevisionNotFound")
        return commit


class Handler(BaseHTTPRequestHandler):
    server: FakeHubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr logging
        pass

    # ---- plumbing -------------------------------------------------------------------
    @property
    def state(self) -> FakeHubState:
        return self.server.state

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes = b"", ctype: str = "application/json", headers=None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _json(self, status: int, data: Any, headers=None) -> None:
        self._send(status, json.dumps(data).encode(), headers=headers)

    def _error(self, err: HubError) -> None:
        headers = {"X-Error-Message": err.message}
        if err.code:
            headers["X-Error-Code"] = err.code
        self._json(err.status, {"error": err.message, **err.extra}, headers=headers)

    def _require_token(self) -> None:
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            raise HubError(401, "Invalid credentials in Authorization header", None)

    def _dispatch(self) -> None:
        body = self._body() if self.command in ("POST", "PUT", "DELETE") else b""
        url = urlsplit(self.path)
        self.state.requests.append((self.command, url.path))
        query = parse_qs(url.query)
        try:
            auth = self.headers.get("Authorization", "")
            valid = self.state.valid_tokens
            if auth.startswith("Bearer ") and valid is not None and auth[7:] not in valid:
                raise HubError(401, "Invalid credentials in Authorization header", None)
            with self.state.lock:
                self._route(url.path, query, body)
        except HubError as err:
            self._error(err)
        except Exception as exc:  # a bug in the fake: answer 500 with the reason
            self._json(500, {"error": f"fake hub: {type(exc).__name__}: {exc}"})

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _dispatch

    # ---- routing --------------------------------------------------------------------
    def _route(self, path: str, query: dict[str, list[str]], body: bytes) -> None:
        m = self.command
        if path == "/api/whoami-v2":
            self._require_token()
            return self._json(
                200, {"type": "user", "name": USER, "orgs": [], "auth": {"type": "access_token"}}
            )
        if path == "/api/repos/create" and m == "POST":
            return self._create_repo(json.loads(body or b"{}"))
        if path == "/api/validate-yaml" and m == "POST":
            return self._validate_yaml(json.loads(body or b"{}"))
        if path.startswith("/__lfs/") and m == "PUT":
            return self._lfs_put(path[len("/__lfs/") :], body)
        hit = re.fullmatch(r"/(datasets/|spaces/)?([^/]+/[^/]+)\.git/info/lfs/objects/batch", path)
        if hit and m == "POST":
            return self._lfs_batch(json.loads(body))
        hit = re.fullmatch(r"/api/(model|dataset|space)s/([^/]+/[^/]+)(?:/([^/]+)(?:/(.*))?)?", path)
        if hit:
            repo_type, repo_id, action, rest = hit.groups()
            return self._api(repo_type, unquote(repo_id), action, rest, query, body)
        hit = re.fullmatch(r"/(datasets/|spaces/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if hit and m in ("GET", "HEAD"):
            repo_type = (hit.group(1) or "models/")[:-2]
            return self._resolve(repo_type, hit.group(2), unquote(hit.group(3)), unquote(hit.group(4)))
        raise HubError(404, f"fake hub: no route for {m} {path}", None)

    def _api(self, repo_type: str, repo_id: str, action, rest, query, body: bytes) -> None:
        st, m = self.state, self.command
        if action in ("xet-write-token", "xet-read-token"):
            raise HubError(501, "fake hub: Xet is not supported; set HF_HUB_DISABLE_XET=1", None)
        if "create_pr" in query:
            raise HubError(501, "fake hub: pull requests are not supported", None)
        repo = st.get_repo(repo_type, repo_id)
        if action is None or action == "revision":
            commit = st.get_commit(repo, unquote(rest) if action else "main")
            return self._json(200, self._info(repo, commit))
        if action == "preupload" and m == "POST":
            self._require_token()
            return self._preupload(repo, unquote(rest), json.loads(body))
        if action == "commit" and m == "POST":
            self._require_token()
            return self._commit(repo, unquote(rest), body)
        if action == "tree":
            rev, _, sub = (rest or "main").partition("/")
            commit = st.get_commit(repo, unquote(rev))
            recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
            return self._json(200, self._tree(commit, unquote(sub), recursive))
        if action == "paths-info" and m == "POST":
            commit = st.get_commit(repo, unquote(rest))
            form = parse_qs(body.decode())
            tree = self._all_entries(commit)
            return self._json(200, [tree[p] for p in form.get("paths", []) if p in tree])
        if action == "refs":
            return self._json(200, self._refs(repo))
        if action == "commits":
            return self._json(200, self._commits(repo, st.get_commit(repo, unquote(rest or "main"))))
        if action == "tag":
            self._require_token()
            return self._tag(repo, unquote(rest), body)
        if action == "branch":
            self._require_token()
            return self._branch(repo, unquote(rest), body)
        raise HubError(404, f"fake hub: unsupported endpoint {m} {action}", None)

    # ---- handlers -------------------------------------------------------------------
    def _create_repo(self, payload: dict[str, Any]) -> None:
        self._require_token()
        ns = payload.get("organization") or USER
        repo_type = payload.get("type") or "model"
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        repo_id = f"{ns}/{payload['name']}"
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        url = f"{self.base}/{prefix}{repo_id}"
        if (repo_type, repo_id) in self.state.repos:
            raise HubError(409, "You already created this repo", None, {"url": url})
        self.state.create_repo(repo_type, repo_id, private)
        self._json(200, {"url": url, "name": repo_id, "id": repo_id})

    def _info(self, repo: Repo, commit: Commit) -> dict[str, Any]:
        card = None
        readme = commit.files.get("README.md")
        if readme is not None:
            card = _front_matter(readme.content.decode("utf-8", "replace"))
        return {
            "id": repo.repo_id,
            "author": repo.repo_id.split("/")[0],
            "sha": commit.sha,
            "private": repo.private,
            "gated": False,
            "disabled": False,
            "lastModified": commit.date,
            "createdAt": commit.date,
            "tags": [],
            "downloads": 0,
            "likes": 0,
            "cardData": card if isinstance(card, dict) else None,
            "siblings": [{"rfilename": p} for p in sorted(commit.files)],
        }

    def _preupload(self, repo: Repo, rev: str, payload: dict[str, Any]) -> None:
        commit = repo.resolve(rev)
        files = commit.files if commit else {}
        out = []
        for f in payload["files"]:
            lfs = f["path"].endswith(LFS_SUFFIXES) or f["size"] > 10 * 1024 * 1024
            old = files.get(f["path"])
            remote = None
            if old is not None:
                remote = old.sha256 if old.lfs else git_blob_oid(old.content)
            out.append(
                {
                    "path": f["path"],
                    "uploadMode": "lfs" if lfs else "regular",
                    "shouldIgnore": False,
                    "oid": remote,
                }
            )
        self._json(200, {"files": out, "commitOid": commit.sha if commit else None})

    def _lfs_batch(self, payload: dict[str, Any]) -> None:
        self._require_token()
        objects = []
        for obj in payload.get("objects", []):
            item = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if obj["oid"] not in self.state.lfs_store:
                item["actions"] = {"upload": {"href": f"{self.base}/__lfs/{obj['oid']}", "header": {}}}
            objects.append(item)
        data = json.dumps({"transfer": "basic", "objects": objects}).encode()
        self._send(200, data, ctype="application/vnd.git-lfs+json")

    def _lfs_put(self, oid: str, body: bytes) -> None:
        if hashlib.sha256(body).hexdigest() != oid:
            raise HubError(400, f"fake hub: uploaded content does not match sha256 {oid}", None)
        self.state.lfs_store[oid] = body
        self._send(200, b"")

    def _commit(self, repo: Repo, rev: str, body: bytes) -> None:
        if rev not in repo.branches:
            raise HubError(400, f"fake hub: can only commit to a branch, not {rev!r}", "RevisionNotFound")
        head = repo.commits[repo.branches[rev]]
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        header = next(line["value"] for line in lines if line["key"] == "header")
        parent = header.get("parentCommit")
        if parent and parent != head.sha:
            raise HubError(412, f"A commit has happened since. Please refresh and try again ({parent})", None)
        files = dict(head.files)
        for line in lines:
            key, value = line["key"], line["value"]
            if key == "file":
                files[value["path"]] = Blob(base64.b64decode(value["content"]), lfs=False)
            elif key == "lfsFile":
                content = self.state.lfs_store.get(value["oid"])
                if content is None:
                    raise HubError(422, f"fake hub: LFS object {value['oid']} was never uploaded", None)
                files[value["path"]] = Blob(content, lfs=True)
            elif key == "deletedFile":
                if value["path"] not in files:
                    raise HubError(404, "A file with this name doesn't exist", "EntryNotFound")
                del files[value["path"]]
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                for p in [p for p in files if p.startswith(prefix)]:
                    del files[p]
        commit = self.state.new_commit(repo, head, files, header["summary"], header.get("description", ""))
        repo.branches[rev] = commit.sha
        prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
        url = f"{self.base}/{prefix}{repo.repo_id}/commit/{commit.sha}"
        self._json(200, {"success": True, "commitOid": commit.sha, "commitUrl": url, "pullRequestUrl": None})

    def _all_entries(self, commit: Commit) -> dict[str, dict[str, Any]]:
        entries: dict[str, dict[str, Any]] = {}
        for path, blob in commit.files.items():
            entries[path] = blob.entry(path)
            parts = path.split("/")
            for i in range(1, len(parts)):
                folder = "/".join(parts[:i])
                oid = hashlib.sha1(f"{commit.sha}:{folder}".encode()).hexdigest()
                entries.setdefault(folder, {"type": "directory", "path": folder, "oid": oid, "size": 0})
        return entries

    def _tree(self, commit: Commit, sub: str, recursive: bool) -> list[dict[str, Any]]:
        entries = self._all_entries(commit)
        sub = sub.strip("/")
        if sub and (sub not in entries or entries[sub]["type"] != "directory"):
            raise HubError(404, f"fake hub: no folder {sub!r}", "EntryNotFound")
        prefix = sub + "/" if sub else ""
        out = []
        for path in sorted(entries):
            if not path.startswith(prefix) or path == sub:
                continue
            if recursive or "/" not in path[len(prefix) :]:
                out.append(entries[path])
        return out

    def _refs(self, repo: Repo) -> dict[str, Any]:
        def refs(table: dict[str, str], kind: str) -> list[dict[str, str]]:
            return [
                {"name": n, "ref": f"refs/{kind}/{n}", "targetCommit": s} for n, s in sorted(table.items())
            ]

        return {
            "branches": refs(repo.branches, "heads"),
            "tags": refs(repo.tags, "tags"),
            "converts": [],
            "pullRequests": [],
        }

    def _commits(self, repo: Repo, commit: Commit | None) -> list[dict[str, Any]]:
        out = []
        while commit is not None:
            out.append(
                {
                    "id": commit.sha,
                    "title": commit.title,
                    "message": commit.message,
                    "authors": [{"user": USER}],
                    "date": commit.date,
                }
            )
            commit = repo.commits.get(commit.parent) if commit.parent else None
        return out

    def _tag(self, repo: Repo, rev: str, body: bytes) -> None:
        if self.command == "DELETE":
            if rev not in repo.tags:
                raise HubError(404, f"fake hub: no tag {rev}", "RevisionNotFound")
            del repo.tags[rev]
            return self._json(200, {})
        tag = json.loads(body)["tag"]
        if tag in repo.tags:
            raise HubError(409, f"Tag {tag} already exists", None)
        repo.tags[tag] = self.state.get_commit(repo, rev).sha
        self._json(200, {})

    def _branch(self, repo: Repo, name: str, body: bytes) -> None:
        if self.command == "DELETE":
            repo.branches.pop(name, None)
            return self._json(200, {})
        if name in repo.branches:
            raise HubError(409, f"Branch {name} already exists", None)
        start = (json.loads(body) if body else {}).get("startingPoint") or "main"
        repo.branches[name] = self.state.get_commit(repo, start).sha
        self._json(200, {})

    def _resolve(self, repo_type: str, repo_id: str, rev: str, path: str) -> None:
        repo = self.state.get_repo(repo_type, repo_id)
        commit = self.state.get_commit(repo, rev)
        blob = commit.files.get(path)
        if blob is None:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
        content = blob.content
        etag = blob.sha256 if blob.lfs else blob.oid
        headers = {"X-Repo-Commit": commit.sha, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
        if blob.lfs:
            headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(content))})
        rng = self.headers.get("Range")
        if rng and self.command == "GET":
            hit = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())
            if hit:
                start = int(hit.group(1)) if hit.group(1) else max(0, len(content) - int(hit.group(2)))
                end = int(hit.group(2)) if hit.group(1) and hit.group(2) else len(content) - 1
                end = min(end, len(content) - 1)
                headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
                return self._send(206, content[start : end + 1], "application/octet-stream", headers)
        self._send(200, content, "application/octet-stream", headers)

    def _validate_yaml(self, payload: dict[str, Any]) -> None:
        errors = validate_card_metadata(payload.get("content", ""))
        status = 400 if errors else 200
        self._json(status, {"errors": [{"message": e} for e in errors], "warnings": []})


def _front_matter(text: str) -> Any:
    hit = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, re.S)
    if not hit:
        return None
    return yaml.safe_load(hit.group(1))


def validate_card_metadata(content: str) -> list[str]:
    """The fake's subset of the Hub's README metadata rules."""
    try:
        data = _front_matter(content)
    except yaml.YAMLError as exc:
        return [f"YAML front matter does not parse: {exc}"]
    if data is None:
        return []
    if not isinstance(data, dict):
        return ["YAML front matter must be a mapping"]
    errors = []
    licenses = data.get("license", [])
    licenses = [licenses] if isinstance(licenses, str) else licenses or []
    errors += [
        f'"license" must be one of the Hub licence ids, got "{x}"' for x in licenses if x not in HUB_LICENSES
    ]
    if "other" in licenses and not data.get("license_name"):
        errors.append('"license_name" is required when "license" is "other"')
    for cfg in data.get("configs") or []:
        extra = set(cfg) - BUILDER_CONFIG_KEYS
        if extra:
            errors.append(f'"configs" entry {cfg.get("config_name")!r} has unknown keys {sorted(extra)}')
    return errors


class FakeHubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = FakeHubState()
        self.thread = threading.Thread(target=self.serve_forever, name="fakehub", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHubServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def start() -> FakeHubServer:
    """Start a fake Hub on 127.0.0.1 (random port) in a daemon thread."""
    return FakeHubServer().start()
