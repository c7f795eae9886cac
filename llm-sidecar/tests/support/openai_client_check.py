"""Drives llm-sidecar with the official `openai` Python package, unchanged.

Usage: python openai_client_check.py BASE_URL SERVICE_TOKEN
Exits non-zero (with a traceback) on the first failed check; prints "ok" at the end.
"""

import json
import math
import sys

import openai
from openai import OpenAI
from pydantic import BaseModel

CHAT = "smollm2-135m-instruct"
EMBED = "all-minilm-l6-v2"

base, token = sys.argv[1], sys.argv[2]
client = OpenAI(
    base_url=f"{base}/v1",
    api_key="unused",  # the sidecar authenticates with X-Service-Token
    default_headers={"X-Service-Token": token},
    max_retries=0,
)

ids = [m.id for m in client.models.list()]
assert CHAT in ids and EMBED in ids, ids
assert client.models.retrieve(CHAT).id == CHAT

messages = [{"role": "user", "content": "Name three colours."}]
whole = client.chat.completions.create(model=CHAT, messages=messages, temperature=0, max_tokens=24)
text = whole.choices[0].message.content
assert text, whole
assert whole.choices[0].finish_reason in ("stop", "length"), whole
assert whole.usage.prompt_tokens > 0 and whole.usage.completion_tokens > 0, whole.usage
assert whole.usage.total_tokens == whole.usage.prompt_tokens + whole.usage.completion_tokens

chunks = list(
    client.chat.completions.create(
        model=CHAT,
        messages=messages,
        temperature=0,
        max_tokens=24,
        stream=True,
        stream_options={"include_usage": True},
    )
)
streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
assert streamed == text, (streamed, text)
assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens

# Structured output, the way the platform's agents ask for it.
schema = {
    "type": "object",
    "properties": {
        "skill": {"type": "string", "maxLength": 30},
        "years": {"type": "integer", "minimum": 0, "maximum": 50},
    },
    "required": ["skill", "years"],
    "additionalProperties": False,
}
r = client.chat.completions.create(
    model=CHAT,
    messages=[{"role": "user", "content": "I have written Python for 5 years. Extract the skill."}],
    temperature=0,
    max_tokens=100,
    response_format={"type": "json_schema", "json_schema": {"name": "skill", "schema": schema, "strict": True}},
)
data = json.loads(r.choices[0].message.content)
assert set(data) == {"skill", "years"} and isinstance(data["years"], int), data


class Skill(BaseModel):
    skill: str
    years: int


parse = getattr(client.chat.completions, "parse", None) or client.beta.chat.completions.parse
parsed = parse(
    model=CHAT,
    messages=[{"role": "user", "content": "I have written Rust for 3 years. Extract the skill."}],
    temperature=0,
    max_tokens=100,
    response_format=Skill,
)
assert isinstance(parsed.choices[0].message.parsed, Skill), parsed

c = client.completions.create(model=CHAT, prompt="The capital of France is", temperature=0, max_tokens=6)
assert c.choices[0].text and c.usage.prompt_tokens > 0, c

# The client asks for base64 embeddings by default and decodes them itself.
e = client.embeddings.create(model=EMBED, input=["The cat sat on the mat.", "A cat was sitting on a rug."])
assert len(e.data) == 2
for d in e.data:
    assert len(d.embedding) == 384
    assert abs(math.sqrt(sum(x * x for x in d.embedding)) - 1.0) < 1e-3
f = client.embeddings.create(model=EMBED, input="hello", encoding_format="float")
assert len(f.data[0].embedding) == 384

try:
    client.chat.completions.create(model="no-such-model", messages=messages)
    raise AssertionError("unknown model accepted")
except openai.NotFoundError as err:
    assert err.status_code == 404
try:
    client.chat.completions.create(model=CHAT, messages=messages, temperature=5)
    raise AssertionError("bad temperature accepted")
except openai.BadRequestError as err:
    assert err.status_code == 400
unauthenticated = OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
try:
    unauthenticated.models.list()
    raise AssertionError("missing service token accepted")
except openai.AuthenticationError as err:
    assert err.status_code == 401

print("ok")
