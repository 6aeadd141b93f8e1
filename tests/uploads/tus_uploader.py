"""A tuspy upload run as its own process (so a test can SIGKILL it midway).

Usage: python tus_uploader.py SERVER_URL TOKEN FILE URL_STORE CHUNK PAUSE
Prints `<upload url> <offset>` after each chunk, then `DONE <file code>`.
"""

import sys
import time

from tusclient import client
from tusclient.storage.filestorage import FileStorage


def main() -> None:
    server, token, path, store, chunk, pause = sys.argv[1:7]
    tus = client.TusClient(server + "/api/v1/uploads", headers={"Authorization": f"Bearer {token}"})
    up = tus.uploader(
        file_path=path,
        chunk_size=int(chunk),
        metadata={"filename": "big upload.bin"},
        store_url=True,
        url_storage=FileStorage(store),
    )
    while up.offset < up.get_file_size():
        up.upload_chunk()
        print(up.url, up.offset, flush=True)
        time.sleep(float(pause))
    print("DONE", up.request.response_headers.get("partage-file-code"), flush=True)


if __name__ == "__main__":
    main()
