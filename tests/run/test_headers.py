"""Request headers reach the handler in java.util.HashMap order, as TorchServe sends them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mar_tools.run.headers import java_hashmap_order, java_string_hash

# Values of String.hashCode() that Java documents or that follow from its definition
# s[0]*31^(n-1) + ... + s[n-1] (int arithmetic), as unsigned 32-bit numbers.
KNOWN_HASHES = {
    "": 0,
    "a": 97,
    "Aa": 2112,
    "BB": 2112,
    "hello": 99162322,
}


@pytest.mark.parametrize("text", ["", "a", "Aa", "BB", "hello"])
def test_java_string_hash_of_known_values(text: str) -> None:
    assert java_string_hash(text) == KNOWN_HASHES[text]


def test_java_string_hash_wraps_like_int_arithmetic() -> None:
    # "polygenelubricants".hashCode() == Integer.MIN_VALUE, a classic of Java trivia.
    assert java_string_hash("polygenelubricants") == 0x80000000


def test_non_bmp_characters_hash_as_two_utf16_units() -> None:
    # U+1F600 is the UTF-16 pair D83D DE00: two code units, as Java's char sequence.
    assert java_string_hash("\U0001f600") == 0xD83D * 31 + 0xDE00


def test_colliding_keys_keep_insertion_order_and_put_replaces_value() -> None:
    order = java_hashmap_order([("BB", "1"), ("Aa", "2"), ("BB", "3")])
    assert order == [("BB", "3"), ("Aa", "2")]


JAVA_PROGRAM = """
import java.util.*;
public class Order {
    public static void main(String[] args) {
        Map<String, String> map = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) map.put(args[i], args[i + 1]);
        StringBuilder out = new StringBuilder();
        for (Map.Entry<String, String> e : map.entrySet())
            out.append(e.getKey()).append('=').append(e.getValue()).append('\\n');
        System.out.print(out);
    }
}
"""

KEY_SETS = [
    ["Content-Type", "url_path", "explain", "explain"],
    ["X-Token", "Accept", "url_path", "explain"],
    [f"X-Header-{n}" for n in range(30)] + ["url_path", "explain"],
    ["BB", "Aa", "C#", "B\u00e9", "\U0001f600", "explain", "url_path"],
]


@pytest.mark.compat
@pytest.mark.parametrize("keys", KEY_SETS, ids=["small", "curl-like", "resized", "unicode"])
def test_order_matches_a_real_java_hashmap(tmp_path: Path, keys: list[str]) -> None:
    java = shutil.which("java")
    if java is None:
        pytest.skip("no java on PATH")
    source = tmp_path / "Order.java"
    source.write_text(JAVA_PROGRAM)
    arguments: list[str] = []
    for index, key in enumerate(keys):
        arguments += [key, f"v{index}"]
    done = subprocess.run(
        [java, "-Dfile.encoding=UTF-8", "-Dsun.stdout.encoding=UTF-8", str(source), *arguments],
        capture_output=True,
        timeout=120,
        check=True,
    )
    java_order = [tuple(line.split("=", 1)) for line in done.stdout.decode().splitlines()]
    pairs = [(key, f"v{index}") for index, key in enumerate(keys)]
    assert java_hashmap_order(pairs) == java_order


def test_each_call_gets_its_own_values_in_the_remembered_order() -> None:
    first = java_hashmap_order([("X-A", "1"), ("url_path", ""), ("explain", "False")])
    second = java_hashmap_order([("X-A", "2"), ("url_path", "p"), ("explain", "True")])
    assert [key for key, _ in first] == [key for key, _ in second]
    assert dict(first) == {"X-A": "1", "url_path": "", "explain": "False"}
    assert dict(second) == {"X-A": "2", "url_path": "p", "explain": "True"}
