"""Publishing a trained model folder to the Hugging Face Hub."""

from pathlib import Path

import httpx
from huggingface_hub import HfApi, get_token
from huggingface_hub.errors import HfHubHTTPError

from fer.errors import first_line

DEFAULT_REPO_NAME = "fer2013-emotion"
UPLOADED_FILES = ["config.json", "model.safetensors", "README.md", "metrics.json", "*.png"]
REQUIRED_FILES = ["config.json", "model.safetensors", "README.md"]


class PushError(Exception):
    """An upload that did not happen; the message is for the user and never holds the token."""


def push_folder(folder: Path, repo_id: str | None = None, private: bool = False, api: HfApi | None = None) -> str:
    """Create the repo if needed and upload the model files of `folder`; return the repo URL."""
    missing = [name for name in REQUIRED_FILES if not (folder / name).exists()]
    if missing:
        raise PushError(f"{folder} is missing {missing}; train (or evaluate) into it before pushing")
    token = get_token()
    if not token:
        raise PushError("no Hugging Face token: set HF_TOKEN or run `hf auth login`; "
                        f"the model stays in {folder}")
    api = api or HfApi()
    try:
        repo_id = repo_id or f"{api.whoami(token=token)['name']}/{DEFAULT_REPO_NAME}"
        url = api.create_repo(repo_id, token=token, private=private, exist_ok=True, repo_type="model")
        api.upload_folder(repo_id=repo_id, folder_path=folder, token=token, repo_type="model",
                          allow_patterns=UPLOADED_FILES, commit_message="Upload FER-2013 emotion classifier")
    except HfHubHTTPError as error:
        raise PushError(_explain_http_error(error, repo_id, token, folder)) from None
    except (httpx.HTTPError, OSError) as error:
        raise PushError(f"could not reach the Hugging Face Hub ({_scrub(error, token)}); "
                        f"nothing was lost, the model stays in {folder}") from None
    return str(url)


def _explain_http_error(error: HfHubHTTPError, repo_id: str | None, token: str, folder: Path) -> str:
    status = error.response.status_code if error.response is not None else None
    if status == 401:
        reason = "the token was refused (expired or revoked?): log in again with `hf auth login`"
    elif status == 403:
        reason = f"this token may not write to '{repo_id}' (someone else's repo, or a read-only token)"
    else:
        reason = f"the Hub answered {status}: {_scrub(error, token)}"
    return f"upload failed: {reason}; the model stays in {folder}"


def _scrub(error: Exception, token: str) -> str:
    text = first_line(error)
    return text.replace(token, "***") if token else text
