"""A fake ``requests.Session`` answering Prometheus API calls from a script."""

from __future__ import annotations

import json
from typing import Any


class FakeResponse:
    def __init__(self, status_code: int, text: str) -> None:
        self.status_code = status_code
        self.text = text


def vector(*items: tuple[dict[str, str], str]) -> FakeResponse:
    """A successful instant-query answer with these (labels, value) items."""
    result = [{"metric": labels, "value": [1704070800.0, value]} for labels, value in items]
    body = {"status": "success", "data": {"resultType": "vector", "result": result}}
    return FakeResponse(200, json.dumps(body))


class FakeSession:
    """Answers each GET with the next scripted response (or raises it)."""

    def __init__(self, *responses: Any) -> None:
        self.responses = list(responses)
        self.calls: list[dict[str, Any]] = []
        self.closed = False

    def get(self, url: str, **kwargs: Any) -> FakeResponse:
        self.calls.append({"url": url, **kwargs})
        response = self.responses.pop(0)
        if isinstance(response, BaseException):
            raise response
        return response

    def close(self) -> None:
        self.closed = True

    @property
    def queries(self) -> list[str]:
        return [call["params"]["query"] for call in self.calls]
