"""RingBuffer: wrap-around, overrun and underrun accounting, and a cross-thread stress run."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.audio.ring import RingBuffer


def test_wraps_around_and_keeps_order():
    ring = RingBuffer(10)
    assert ring.write(np.arange(7, dtype=np.float32)) == 7
    np.testing.assert_array_equal(ring.read(5), [0, 1, 2, 3, 4])
    assert ring.write(np.arange(7, 13, dtype=np.float32)) == 6  # crosses the end of storage
    assert ring.available() == 8 and ring.free() == 2
    out = np.full(8, -1.0, dtype=np.float32)
    assert ring.read_into(out) == 8
    np.testing.assert_array_equal(out, np.arange(5, 13))
    assert (ring.overrun_samples, ring.underrun_samples) == (0, 0)


def test_overrun_refuses_newest_and_counts():
    ring = RingBuffer(8)
    assert ring.write(np.arange(5, dtype=np.float32)) == 5
    assert ring.write(np.arange(5, 12, dtype=np.float32)) == 3
    assert (ring.overrun_samples, ring.overrun_events) == (4, 1)
    assert ring.write(np.ones(2, dtype=np.float32)) == 0
    assert (ring.overrun_samples, ring.overrun_events) == (6, 2)
    np.testing.assert_array_equal(ring.read(), np.arange(8))  # the oldest survive, in order


def test_underrun_pads_with_silence_and_counts():
    ring = RingBuffer(16)
    ring.write(np.full(3, 0.5, dtype=np.float32))
    out = np.full(5, 9.0, dtype=np.float32)
    assert ring.read_into(out) == 3
    np.testing.assert_array_equal(out, [0.5, 0.5, 0.5, 0, 0])
    assert (ring.underrun_samples, ring.underrun_events) == (2, 1)
    assert len(ring.read()) == 0  # an empty plain read is not an underrun
    assert ring.read_into(np.zeros(4, dtype=np.float32), pad=False) == 0
    assert (ring.underrun_samples, ring.underrun_events) == (2, 1)


def test_skip_drops_oldest():
    ring = RingBuffer(8)
    ring.write(np.arange(6, dtype=np.float32))
    assert ring.skip(4) == 4
    np.testing.assert_array_equal(ring.read(), [4, 5])
    ring.write(np.arange(3, dtype=np.float32))
    assert ring.skip() == 3 and ring.available() == 0
    assert ring.read_total == ring.written == 9


def test_rejects_bad_capacity():
    with pytest.raises(ValueError):
        RingBuffer(0)


def test_threads_every_sample_once_in_order():
    """Producer and consumer in different threads with random chunk sizes and a small ring."""
    total = 200_000  # float32 holds these integers exactly
    source = np.arange(total, dtype=np.float32)
    ring = RingBuffer(1000)
    received = np.empty(total, dtype=np.float32)
    rng_p, rng_c = np.random.default_rng(1), np.random.default_rng(2)

    def produce() -> None:
        i = 0
        while i < total:
            n = int(rng_p.integers(1, 700))
            i += ring.write(source[i : i + n])  # a refused tail is offered again

    producer = threading.Thread(target=produce)
    producer.start()
    got = 0
    buf = np.empty(900, dtype=np.float32)
    while got < total:
        n = ring.read_into(buf[: int(rng_c.integers(1, 900))], pad=False)
        received[got : got + n] = buf[:n]
        got += n
    producer.join()
    np.testing.assert_array_equal(received, source)
    assert ring.available() == 0 and ring.written == total
