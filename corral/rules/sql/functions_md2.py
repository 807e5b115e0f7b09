"""MD2 (RFC 1319), for IoT SQL's ``md2()``: OpenSSL 3, and so ``hashlib``, no longer offers it.

Ours because nothing we depend on has it; it hashes short rule inputs, never a hot path. The 256-byte
substitution table is not typed in: it is the permutation RFC 1319 derives from the digits of pi, built once
by shuffling 0..255 with numbers drawn from those digits (a draw below n takes one, two or three digits and
is redrawn when it would bias the result). The RFC's test vectors check it.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

_BLOCK = 16


def _pi_digits(count: int) -> Iterator[int]:
    """The first ``count`` decimal digits of pi (3, 1, 4, 1, 5, …), by Machin's formula in integers."""
    scale: int = 10 ** (count + 10)

    def arctan_inverse(x: int) -> int:
        total = term = scale // x
        x_squared, k, sign = x * x, 1, -1
        while term:
            term //= x_squared
            total += sign * (term // (2 * k + 1))
            sign, k = -sign, k + 1
        return total

    pi = 16 * arctan_inverse(5) - 4 * arctan_inverse(239)
    return (int(c) for c in str(pi)[:count])


@cache
def _s_table() -> tuple[int, ...]:
    digits = _pi_digits(1000)

    def draw(n: int) -> int:
        while True:
            x, y = next(digits), 10
            if n > 10:
                x, y = x * 10 + next(digits), 100
            if n > 100:
                x, y = x * 10 + next(digits), 1000
            if x < n * (y // n):
                return x % n

    table = list(range(256))
    for i in range(2, 257):
        j = draw(i)
        table[j], table[i - 1] = table[i - 1], table[j]
    return tuple(table)


def md2_hexdigest(data: bytes) -> str:
    s = _s_table()
    padding = _BLOCK - len(data) % _BLOCK
    message = data + bytes([padding]) * padding
    checksum = [0] * _BLOCK
    last = 0
    for start in range(0, len(message), _BLOCK):
        for j in range(_BLOCK):
            checksum[j] ^= s[message[start + j] ^ last]
            last = checksum[j]
    message += bytes(checksum)
    state = [0] * 48
    for start in range(0, len(message), _BLOCK):
        for j in range(_BLOCK):
            state[16 + j] = message[start + j]
            state[32 + j] = state[16 + j] ^ state[j]
        t = 0
        for round_number in range(18):
            for k in range(48):
                state[k] ^= s[t]
                t = state[k]
            t = (t + round_number) % 256
    return bytes(state[:_BLOCK]).hex()
