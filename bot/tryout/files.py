"""Files in the emulator: what the bot uploads or users send, served through getFile and the
download route, and the File / PhotoSize objects messages carry."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass

from aiohttp import web

from bot.tryout.protocol import JSON, Handler, Request, bad

MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024
_FILE_DIRS = {
    "document": "documents",
    "photo": "photos",
    "voice": "voice",
    "audio": "music",
    "video": "videos",
    "animation": "animations",
}


@dataclass
class StoredFile:
    """A file the emulator can serve through getFile and the download route."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_name: str | None
    mime_type: str | None
    file_path: str


class FileStore:
    """Every file by file_id and by download path; the getFile method and the download route."""

    def __init__(self, token: str) -> None:
        self.token = token
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_seq = 0

    def methods(self) -> dict[str, Handler]:
        return {"getFile": self._get_file}

    def register(
        self,
        data: bytes,
        *,
        kind: str = "document",
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        """Store a file that getFile and the download route will serve."""
        self._file_seq += 1
        seq = self._file_seq
        if mime_type is None and file_name:
            mime_type = mimetypes.guess_type(file_name)[0]
        ext = ""
        if file_name and "." in file_name:
            ext = file_name.rsplit(".", 1)[1]
        elif mime_type:
            ext = (mimetypes.guess_extension(mime_type) or "").lstrip(".")
        ext = {"jpe": "jpg", "oga": "ogg"}.get(ext, ext)
        path = f"emu/{_FILE_DIRS.get(kind, 'files')}/file_{seq}" + (f".{ext}" if ext else "")
        stored = StoredFile(
            file_id=f"EMU{kind[:3].upper()}{seq:08d}",
            file_unique_id=f"U{seq:08d}",
            kind=kind,
            data=data,
            file_name=file_name,
            mime_type=mime_type,
            file_path=path,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        """A stored file by its file_id."""
        return self._files.get(file_id)

    def resolve(self, req: Request, key: str, kind: str) -> StoredFile:
        """The file a send method names in ``key``: an upload, a URL or a known file_id."""
        part = req.files.get(key)
        value = req.params.get(key)
        if part is None and isinstance(value, str) and value.startswith("attach://"):
            part = req.files.get(value.removeprefix("attach://"))
            if part is None:
                raise bad(f"file {value} not found in the request")
        if part is not None:
            return self.register(
                part.data, kind=kind, file_name=part.file_name, mime_type=part.mime_type
            )
        if not isinstance(value, str) or not value:
            raise bad(f"there is no {key} in the request")
        if value.startswith(("http://", "https://")):
            name = value.rstrip("/").rsplit("/", 1)[-1] or None
            return self.register(b"", kind=kind, file_name=name)
        stored = self._files.get(value)
        if stored is None:
            raise bad("wrong file identifier/HTTP URL specified")
        if stored.kind != kind and {stored.kind, kind} != {"document", "animation"}:
            raise bad(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        return stored

    async def _get_file(self, req: Request) -> JSON:
        file_id = req.str_param("file_id")
        stored = self._files.get(file_id or "")
        if stored is None:
            raise bad("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_SIZE:
            raise bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def handle_download(self, request: web.Request) -> web.Response:
        """The download route, ``/file/bot<token>/<file_path>``."""
        stored = self._files_by_path.get(request.match_info["path"])
        if request.match_info["token"] != self.token or stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )


def file_object(stored: StoredFile, *, duration: int | None = None) -> JSON:
    """The Document / Voice / Audio / Video / Animation object of ``stored``."""
    obj: JSON = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
    }
    if stored.file_name and stored.kind in ("document", "audio", "video", "animation"):
        obj["file_name"] = stored.file_name
    if stored.mime_type:
        obj["mime_type"] = stored.mime_type
    if stored.kind in ("voice", "audio", "video", "animation"):
        obj["duration"] = duration if duration is not None else 1
    if stored.kind in ("video", "animation"):
        obj.update(width=640, height=360)
    return obj


def photo_sizes(small: StoredFile, big: StoredFile) -> list[JSON]:
    """The PhotoSize list of a photo: a thumbnail and the full size."""
    sizes = ((small, 320, 240), (big, 1280, 960))
    return [
        {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": len(f.data)}
        | {"width": width, "height": height}
        for f, width, height in sizes
    ]
