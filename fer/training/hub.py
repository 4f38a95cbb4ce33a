"""Publishing a trained model folder to the Hugging Face Hub, and the demo Space that runs it."""

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import httpx
from huggingface_hub import HfApi, RepoUrl, SpaceCard, get_token
from huggingface_hub.errors import HfHubHTTPError

from fer.errors import first_line

DEFAULT_REPO_NAME = "fer2013-emotion"
UPLOADED_FILES = ["config.json", "model.safetensors", "model.onnx", "README.md", "metrics.json", "*.png"]
REQUIRED_FILES = ["config.json", "model.safetensors", "README.md"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SPACE_FILES = ["app.py", "requirements.txt", "packages.txt"]  # packages.txt (Debian packages) only if there is one
SPACE_FOLDERS = ["fer", "examples"]  # fer/pretrained too: the app falls back to the bundled model
NOT_FOR_THE_SPACE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.tmp", "checkpoint.safetensors")
SPACE_MODEL_VARIABLE = "FER_MODEL"
SPACE_README_TEXT = """
# {title}

Every face in a photo or webcam stream gets a box and an expression, with the probabilities of all
classes and a Grad-CAM heat map. Model: [{model}](https://huggingface.co/{model}), named by the Space
variable `{variable}`; if it cannot be loaded, the app uses its bundled model (`fer/pretrained/`) and says so.
"""


class PushError(Exception):
    """An upload that did not happen; the message is for the user and never holds the token."""


def push_folder(folder: Path, repo_id: str | None = None, private: bool = False, api: HfApi | None = None) -> RepoUrl:
    """Create the repo if needed and upload the model files of `folder`; return the repo URL."""
    missing = [name for name in REQUIRED_FILES if not (folder / name).exists()]
    if missing:
        raise PushError(f"{folder} is missing {missing}; train (or evaluate) into it before pushing")
    kept = f"nothing was lost, the model stays in {folder}"
    token = _required_token(kept)
    api = api or HfApi()
    with _explained_errors(repo_id, token, kept):
        repo_id = repo_id or f"{api.whoami(token=token)['name']}/{DEFAULT_REPO_NAME}"
        url = api.create_repo(repo_id, token=token, private=private, exist_ok=True, repo_type="model")
        api.upload_folder(repo_id=repo_id, folder_path=folder, token=token, repo_type="model",
                          allow_patterns=UPLOADED_FILES, commit_message="Upload FER-2013 emotion classifier")
    return url


def push_space(space_id: str, model_repo_id: str, private: bool = False, api: HfApi | None = None) -> RepoUrl:
    """Create or update the Gradio Space `space_id` running this app on the Hub model `model_repo_id`;
    return the Space's URL."""
    kept = "nothing local changed; the same command can be run again"
    token = _required_token(kept)
    api = api or HfApi()
    with tempfile.TemporaryDirectory(prefix="fer-space-") as staging:
        stage_space(Path(staging), model_repo_id)
        with _explained_errors(space_id, token, kept):
            url = api.create_repo(space_id, token=token, private=private, exist_ok=True, repo_type="space",
                                  space_sdk="gradio")
            api.add_space_variable(space_id, SPACE_MODEL_VARIABLE, model_repo_id, token=token)
            # One commit that also removes files of an older version of the app from fer/ and examples/.
            api.upload_folder(repo_id=space_id, folder_path=staging, token=token, repo_type="space",
                              delete_patterns=[f"{name}/*" for name in SPACE_FOLDERS],
                              commit_message=f"Deploy the FER-2013 emotion demo with {model_repo_id}")
    return url


def stage_space(staging: Path, model_repo_id: str) -> None:
    """Copy what the Space runs into `staging`, with a README whose front-matter configures the Space."""
    for name in SPACE_FILES:
        if (PROJECT_ROOT / name).exists():
            shutil.copy2(PROJECT_ROOT / name, staging / name)
    for name in SPACE_FOLDERS:
        shutil.copytree(PROJECT_ROOT / name, staging / name, ignore=NOT_FOR_THE_SPACE)
    card = SpaceCard.load(PROJECT_ROOT / "README.md")
    card.data.models = [model_repo_id]  # lists the Space on the model's page
    card.text = SPACE_README_TEXT.format(title=card.data.title, model=model_repo_id, variable=SPACE_MODEL_VARIABLE)
    card.save(staging / "README.md")


def _required_token(kept: str) -> str:
    token = get_token()
    if not token:
        raise PushError(f"no Hugging Face token: set HF_TOKEN or run `hf auth login`; {kept}")
    return token


@contextmanager
def _explained_errors(repo_id: str | None, token: str, kept: str):
    """Hub and network failures as one PushError saying what happened and what is kept, without the token."""
    try:
        yield
    except HfHubHTTPError as error:
        raise PushError(f"upload failed: {_explain_http_error(error, repo_id, token)}; {kept}") from None
    except (httpx.HTTPError, OSError) as error:
        raise PushError(f"could not reach the Hugging Face Hub ({_scrub(error, token)}); {kept}") from None


def _explain_http_error(error: HfHubHTTPError, repo_id: str | None, token: str) -> str:
    status = error.response.status_code if error.response is not None else None
    if status == 401:
        return "the token was refused (expired or revoked?): log in again with `hf auth login`"
    if status == 403:
        return f"this token may not write to '{repo_id}' (someone else's repo, or a read-only token)"
    return f"the Hub answered {status}: {_scrub(error, token)}"


def _scrub(error: Exception, token: str) -> str:
    text = first_line(error)
    return text.replace(token, "***") if token else text
