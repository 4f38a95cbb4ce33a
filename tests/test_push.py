"""`train.py --push [--space]` at the huggingface_hub API boundary: no network, a recording stand-in for HfApi."""

import fnmatch
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml
from huggingface_hub import RepoUrl
from huggingface_hub.errors import HfHubHTTPError

import fer.training.hub
import train
from fer.training.hub import PushError, push_folder, push_space

TOKEN = "hf_secretTOKEN123456789"


class RecordingApi:
    def __init__(self, fail_upload_with=None):
        self.calls = []
        self.uploaded = {}
        self.fail_upload_with = fail_upload_with

    def whoami(self, token):
        self.calls.append(("whoami", token))
        return {"name": "alice"}

    def create_repo(self, repo_id, repo_type, **kwargs):
        self.calls.append(("create_repo", repo_id, {"repo_type": repo_type, **kwargs}))
        return RepoUrl(f"https://huggingface.co/{'spaces/' if repo_type == 'space' else ''}{repo_id}")

    def add_space_variable(self, repo_id, key, value, **kwargs):
        self.calls.append(("add_space_variable", repo_id, key, value))

    def upload_folder(self, repo_id, folder_path, allow_patterns=None, **kwargs):
        self.calls.append(("upload_folder", repo_id, kwargs))
        if self.fail_upload_with:
            raise self.fail_upload_with
        for path in Path(folder_path).rglob("*"):
            name = path.relative_to(folder_path).as_posix()
            if path.is_file() and any(fnmatch.fnmatch(name, pattern) for pattern in allow_patterns or ["*"]):
                self.uploaded[name] = path.read_bytes()


@pytest.fixture
def model_folder(tmp_path) -> Path:
    for name, content in {"config.json": "{}", "model.safetensors": "w", "model.onnx": "o", "metrics.json": "{}",
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
                                    "model.onnx", "model.safetensors"]
    assert b"license: mit" in api.uploaded["README.md"]


def test_default_repo_id_is_under_the_logged_in_user(model_folder, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    api = RecordingApi()
    push_folder(model_folder, None, api=api)
    assert ("create_repo", "alice/fer2013-emotion") == api.calls[1][:2]


def test_no_token_is_a_clear_message(model_folder, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(fer.training.hub, "get_token", lambda: None)
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
    monkeypatch.setattr(fer.training.hub, "HfApi", lambda: RecordingApi(fail_upload_with=http_error(401)))
    code = train.main(["--skip-training", "--push", "--repo-id", "alice/x", "--out", str(model_folder)])
    captured = capsys.readouterr()
    assert code == 2
    assert "upload failed" in captured.err and TOKEN not in captured.err + captured.out


def front_matter(readme: bytes) -> dict:
    return yaml.safe_load(readme.decode().split("---\n")[1])


def test_space_deploy_creates_a_gradio_space_of_the_app_and_points_it_at_the_model(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    api = RecordingApi()
    url = push_space("alice/demo", "alice/fer-test", api=api)
    assert url == "https://huggingface.co/spaces/alice/demo"
    assert [call[0] for call in api.calls] == ["create_repo", "add_space_variable", "upload_folder"]
    assert api.calls[0][2] == {"repo_type": "space", "space_sdk": "gradio", "exist_ok": True, "private": False,
                               "token": TOKEN}
    assert api.calls[1] == ("add_space_variable", "alice/demo", "FER_MODEL", "alice/fer-test")
    assert api.calls[2][2]["repo_type"] == "space"
    tracked = subprocess.run(["git", "ls-files", "app.py", "requirements.txt", "packages.txt", "fer", "examples"],
                             cwd=fer.training.hub.PROJECT_ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    assert sorted(api.uploaded) == sorted(tracked + ["README.md"])
    assert {"fer/pretrained/model.safetensors", "fer/pretrained/model.onnx", "examples/two_people.jpg",
            "fer/app/web/live.js", "fer/app/web/vendor/ort-wasm-simd-threaded.wasm",
            "fer/app/web/vendor/face_detection_short_range.onnx", "fer/app/web/vendor/face_detection_full_range.onnx",
            "fer/app/web/finder.js"} <= set(api.uploaded)
    project = front_matter((fer.training.hub.PROJECT_ROOT / "README.md").read_bytes())
    space = front_matter(api.uploaded["README.md"])
    assert space == {**project, "models": ["alice/fer-test"]} and space["sdk"] == "gradio"
    assert b"(https://huggingface.co/alice/fer-test)" in api.uploaded["README.md"]


@pytest.fixture
def project_with_clutter(tmp_path, monkeypatch) -> Path:
    """A project tree holding, besides what a Space runs, everything that must stay out of it."""
    root = tmp_path / "project"
    files = ["app.py", "requirements.txt", "packages.txt", "fer/model/classifier.py",
             "fer/pretrained/model.safetensors", "fer/pretrained/model.onnx", "examples/a.jpg",
             "fer/model/__pycache__/classifier.cpython-311.pyc", "fer/pretrained/checkpoint.safetensors",
             "fer/pretrained/.best.tmp/model.safetensors", "tests/test_app.py", "runs/default/model.safetensors",
             ".git/config", "fer2013/train.csv", "test-artifacts/page.png", ".pytest_cache/README.md", "docs/app.jpg"]
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    (root / "README.md").write_bytes((fer.training.hub.PROJECT_ROOT / "README.md").read_bytes())
    monkeypatch.setattr(fer.training.hub, "PROJECT_ROOT", root)
    return root


def test_the_space_gets_the_app_and_nothing_else(project_with_clutter, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    api = RecordingApi()
    push_space("alice/demo", "alice/fer-test", api=api)
    assert sorted(api.uploaded) == ["README.md", "app.py", "examples/a.jpg", "fer/model/classifier.py",
                                    "fer/pretrained/model.onnx", "fer/pretrained/model.safetensors",
                                    "packages.txt", "requirements.txt"]


@pytest.mark.parametrize("failure, message", [
    (http_error(401), "refused"),
    (http_error(403), "may not write to 'alice/demo'"),
    (httpx.ConnectError("connection refused"), "could not reach"),
])
def test_a_failed_space_deploy_changes_nothing_local_and_never_shows_the_token(project_with_clutter, monkeypatch,
                                                                              failure, message):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    before = sorted(project_with_clutter.rglob("*"))
    with pytest.raises(PushError, match=message) as caught:
        push_space("alice/demo", "alice/fer-test", api=RecordingApi(fail_upload_with=failure))
    assert TOKEN not in str(caught.value) and "nothing local changed" in str(caught.value)
    assert sorted(project_with_clutter.rglob("*")) == before


def test_a_space_deploy_without_a_token_is_a_clear_message(monkeypatch):
    monkeypatch.setattr(fer.training.hub, "get_token", lambda: None)
    with pytest.raises(PushError, match="no Hugging Face token"):
        push_space("alice/demo", "alice/fer-test", api=RecordingApi())


def test_train_cli_pushes_the_model_then_deploys_the_space_running_it(model_folder, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    api = RecordingApi()
    monkeypatch.setattr(fer.training.hub, "HfApi", lambda: api)
    assert train.main(["--skip-training", "--push", "--space", "alice/demo", "--out", str(model_folder)]) == 0
    assert ("add_space_variable", "alice/demo", "FER_MODEL", "alice/fer2013-emotion") in api.calls
    assert "https://huggingface.co/spaces/alice/demo" in capsys.readouterr().out


def test_train_cli_refuses_a_space_without_a_push(capsys):
    with pytest.raises(SystemExit) as exited:
        train.main(["--skip-training", "--space", "alice/demo"])
    assert exited.value.code == 2 and "--space needs --push" in capsys.readouterr().err
