"""Plug-in packages for the GaussDB tests: builders for good and hostile `.tar.gz` packages
(docs/contract.md → Plug-in package format) and a loopback HTTP server that serves them,
slowly when asked, and redirects when asked."""

import gzip
import hashlib
import io
import os
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _add_bytes(tar, name, data, mode=0o644):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def extension_files(name, version="1.0", pg_major=None, preload=False, with_manifest=True):
    """The files of a small, valid extension package: control file, install script (a SQL
    function), optional manifest."""
    files = {
        f"share/extension/{name}.control": (
            f"# {name}: plugboard test extension\n"
            f"comment = 'plugboard test extension {name}'\n"
            f"default_version = '{version}'\n"
            "relocatable = true\n"
        ).encode(),
        f"share/extension/{name}--{version}.sql": (
            f"CREATE FUNCTION {name}_hello() RETURNS text LANGUAGE sql AS $$ SELECT 'hello from {name}'::text $$;\n"
        ).encode(),
    }
    if with_manifest:
        manifest = f'name = "{name}"\nversion = "{version}"\n'
        if pg_major is not None:
            manifest += f"pg_major = {pg_major}\n"
        if preload:
            manifest += "preload = true\n"
        files["plugboard-package.toml"] = manifest.encode()
    return files


def build_package(path, files, extra=None):
    """Write a .tar.gz with `files` ({name: bytes}); `extra(tar)` may add hostile entries."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            _add_bytes(tar, name, data)
        if extra is not None:
            extra(tar)
    return path


def symlink_entry(name, target):
    def add(tar):
        info = tarfile.TarInfo(name)
        info.type = tarfile.SYMTYPE
        info.linkname = target
        tar.addfile(info)
    return add


def hardlink_entry(name, target):
    def add(tar):
        info = tarfile.TarInfo(name)
        info.type = tarfile.LNKTYPE
        info.linkname = target
        tar.addfile(info)
    return add


def device_entry(name):
    def add(tar):
        info = tarfile.TarInfo(name)
        info.type = tarfile.CHRTYPE
        info.devmajor, info.devminor = 1, 3
        tar.addfile(info)
    return add


def file_entry(name, data=b"x"):
    def add(tar):
        _add_bytes(tar, name, data)
    return add


def zeros_entry(name, size):
    """A regular file of `size` zero bytes, streamed (never held in memory)."""
    class Zeros(io.RawIOBase):
        def __init__(self, n):
            self.left = n

        def readable(self):
            return True

        def readinto(self, b):
            n = min(len(b), self.left)
            b[:n] = bytes(n)
            self.left -= n
            return n

    def add(tar):
        info = tarfile.TarInfo(name)
        info.size = size
        tar.addfile(info, Zeros(size))
    return add


def random_file(path, size):
    """A file of `size` random bytes (does not compress), written in chunks."""
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(os.urandom(n))
            left -= n
    return path


class PackageServer:
    """Serves files of a directory on 127.0.0.1:
    - `/pkg/<name>`            the file
    - `/slow/<ms>/<name>`      the file in 64 KiB chunks, sleeping <ms> between them
    - `/redirect?to=<url>`     302 to <url>
    - `/status/<code>`         an empty answer with that status
    Every request path is recorded in `hits`."""

    def __init__(self, root):
        self.root = Path(root)
        self.hits = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.hits.append(self.path)
                parts = self.path.split("?", 1)
                path, query = parts[0], parts[1] if len(parts) > 1 else ""
                if path == "/redirect":
                    target = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("to", "")
                    from urllib.parse import unquote
                    self.send_response(302)
                    self.send_header("Location", unquote(target))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if path.startswith("/status/"):
                    self.send_response(int(path.rsplit("/", 1)[1]))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                delay = 0.0
                if path.startswith("/slow/"):
                    _, _, ms, name = path.split("/", 3)
                    delay = int(ms) / 1000
                elif path.startswith("/pkg/"):
                    name = path[len("/pkg/"):]
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                file = server.root / name
                if "/" in name or not file.is_file():
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                size = file.stat().st_size
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                try:
                    with open(file, "rb") as f:
                        while True:
                            chunk = f.read(64 * 1024)
                            if not chunk:
                                break
                            self.wfile.write(chunk)
                            if delay:
                                self.wfile.flush()
                                time.sleep(delay)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def url(self, name):
        return f"{self.base}/pkg/{name}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def gzip_bytes(data):
    return gzip.compress(data)
