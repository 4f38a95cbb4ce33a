"""`train.py --push` at the huggingface_hub API boundary: no network, a recording stand-in for HfApi."""

from pathlib import Path

import httpx
import pytest
from huggingface_hub.errors import HfHubHTTPError

import fer.hub
import train
from fer.hub import PushError, push_folder

TOKEN = "hf_secretTOKEN123456789"


class RecordingApi:
    def __init__(self, fail_upload_with=None):
        self.calls = []
        self.uploaded = {}
        self.fail_upload_with = fail_upload_with

    def whoami(self, token):
        self.calls.append(("whoami", token))
        return {"name": "alice"}

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, repo_id, folder_path, allow_patterns, **kwargs):
        self.calls.append(("upload_folder", repo_id, kwargs))
        if self.fail_upload_with:
            raise self.fail_upload_with
        import fnmatch
        for path in Path(folder_path).iterdir():
            if any(fnmatch.fnmatch(path.name, pattern) for pattern in allow_patterns):
                self.uploaded[path.name] = path.read_bytes()


@pytest.fixture
def model_folder(tmp_path) -> Path:
    for name, content in {"config.json": "{}", "model.safetensors": "w", "metrics.json": "{}",
                          "confusion_matrix.png": "png", "checkpoint.safetensors": "big",
                          "README.md": "---\nlicense: mit\n---\n# card accuracy 70%"}.items():
        (tmp_path / name).write_text(content)
    return tmp_path


def http_error(status: int) -> HfHubHTTPError:
    response = httpx.Response(status, request=httpx.Request("POST", "https://huggingface.co/api/x"))
    return HfHubHTTPError(f"{status} error for token {TOKEN}", response=response)


def test_push_creates_the_repo_and_uploads_the_model_files_only(model_folder, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    api = RecordingApi()
    url = push_folder(model_folder, "alice/fer-test", private=True, api=api)
    assert url == "https://huggingface.co/alice/fer-test"
    create = next(call for call in api.calls if call[0] == "create_repo")
    assert create[1] == "alice/fer-test" and create[2]["private"] is True and create[2]["exist_ok"] is True
    assert sorted(api.uploaded) == ["README.md", "config.json", "confusion_matrix.png", "metrics.json",
                                    "model.safetensors"]
    assert b"license: mit" in api.uploaded["README.md"]


def test_default_repo_id_is_under_the_logged_in_user(model_folder, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    api = RecordingApi()
    push_folder(model_folder, None, api=api)
    assert ("create_repo", "alice/fer2013-emotion") == api.calls[1][:2]


def test_no_token_is_a_clear_message(model_folder, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(fer.hub, "get_token", lambda: None)
    with pytest.raises(PushError, match="no Hugging Face token"):
        push_folder(model_folder, "alice/x", api=RecordingApi())


@pytest.mark.parametrize("failure, message", [
    (http_error(401), "refused"),
    (http_error(403), "may not write to 'alice/x'"),
    (http_error(500), "answered 500"),
    (httpx.ConnectError("connection refused"), "could not reach"),
])
def test_failed_uploads_keep_the_folder_and_never_show_the_token(model_folder, monkeypatch, failure, message):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    before = {path.name: path.read_bytes() for path in model_folder.iterdir()}
    with pytest.raises(PushError, match=message) as caught:
        push_folder(model_folder, "alice/x", api=RecordingApi(fail_upload_with=failure))
    assert TOKEN not in str(caught.value)
    assert {path.name: path.read_bytes() for path in model_folder.iterdir()} == before


def test_train_cli_push_failure_exits_non_zero_with_one_line(model_folder, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setattr(fer.hub, "HfApi", lambda: RecordingApi(fail_upload_with=http_error(401)))
    code = train.main(["--skip-training", "--push", "--repo-id", "alice/x", "--out", str(model_folder)])
    captured = capsys.readouterr()
    assert code == 2
    assert "upload failed" in captured.err and TOKEN not in captured.err + captured.out
