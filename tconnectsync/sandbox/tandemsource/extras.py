"""The events a real pump-logs answer holds besides those the sync reads (docs/tandem-source.md §5.2).

* Codes the Source web app's filter asks for (and so ours) that have no public definition:
  57, 69, 558, 559, 562, 563, 564, 565, 566. Returned when the filter names them (or is empty).
* Codes live answers hold although no filter asked for them: 8 and 27. Returned whatever the filter.
* 81 ``LID_DAILY_BASAL``, once a day half an hour before its end, final-event flag set; returned only
  when the filter names it (or is empty): the default filter does not.

Each is a 26-byte record like any event (``record_bytes``: big-endian code, Tandem-epoch wall
time and sequence number, then a 16-byte body). The bodies of the undefined codes are arbitrary
but deterministic (a hash of pump, code and sequence number); in the JSON answer their
``eventProperties`` are that body read as four uint32 (real key names are not known). 81's body
is the current public layout: three float32 (daily total basal, last basal rate, IOB), the
battery's millivolts (uint16, body offset 12), its charge percent (uint8, 14) and the final-event
flag (uint8, 15). This module is the sandbox's own encoder; it shares nothing with the product.
"""
import datetime as dt
import hashlib
import struct
import zlib

TANDEM_EPOCH = dt.datetime(2008, 1, 1)
UNDEFINED_CODES = (57, 69, 558, 559, 562, 563, 564, 565, 566)
UNFILTERED_CODES = (8, 27)
DAILY_BASAL = 81
# One pump-local day's extra events, in the order they are spread over the day (81 comes last).
DAY_PLAN = (57, 558, 8, 562, 69, 563, 27, 564, 559, 565, 566, 57, 8, 69, 27)


def record_bytes(code, seq, wall, body):
    """One 26-byte record: code (uint16), seconds since 2008-01-01 of the wall clock (uint32),
    sequence number (uint32), the 16-byte body."""
    if len(body) != 16:
        raise ValueError("an event body is 16 bytes, not %d" % len(body))
    return struct.pack(">HII", code & 0x0FFF, int((wall - TANDEM_EPOCH).total_seconds()), seq) + bytes(body)


def filler_body(assignment_id, code, seq):
    """The deterministic 16 arbitrary bytes of an event without a public definition."""
    return hashlib.sha256(("%s/%d/%d" % (assignment_id, code, seq)).encode("ascii")).digest()[:16]


def daily_basal_body(total_basal, last_rate, iob, millivolts, percent, final):
    return struct.pack(">fffHBB", total_basal, last_rate, iob, millivolts, percent, 1 if final else 0)


def shortest_float32(x):
    """A float32 as the shortest decimal that survives the round trip (as the API prints it)."""
    packed = struct.pack(">f", x)
    for digits in range(1, 10):
        cand = float("%.*g" % (digits, x))
        if struct.pack(">f", cand) == packed:
            return cand
    return struct.unpack(">f", packed)[0]


def properties(code, body):
    """``eventProperties`` of an extra event, read from its body."""
    if code == DAILY_BASAL:
        total, last, iob, mv, percent, final = struct.unpack(">fffHBB", body)
        return {"dailyTotalBasal": shortest_float32(total), "lastBasalRate": shortest_float32(last),
                "iob": shortest_float32(iob),
                "batteryLipoMilliVolts": mv, "batteryChargePercent": percent, "finalEventForDay": final}
    return {"param%d" % (i + 1): v for i, v in enumerate(struct.unpack(">IIII", body))}


def returned(code, codes):
    """Whether an extra event of ``code`` is in an answer whose filter is ``codes`` (None: all)."""
    return code in UNFILTERED_CODES or codes is None or code in codes


def day_plan(day_start, day_end):
    """[(instant, code)] of one pump-local day [day_start, day_end) (Unix seconds)."""
    span = day_end - day_start
    out = [(day_start + (i + 1) * span // (len(DAY_PLAN) + 2) + 17 * i, code) for i, code in enumerate(DAY_PLAN)]
    out.append((day_end - 1800, DAILY_BASAL))        # the pump logs on after it: CGM readings
    return out


def place(main, plan):
    """Give each planned extra a free sequence number between two consecutive events of ``main``
    ([(instant, seq)], in order) at or after its planned instant, so that no event of ``main`` is
    renumbered: the pump's sequence has gaps where it logged events an answer leaves out. Returns
    [(instant, seq, code)]; an extra that finds no gap before the day's last event is dropped."""
    used = set()
    out = []
    j = 0
    for want, code in sorted(plan):
        while j + 1 < len(main) and main[j + 1][0] <= want:
            j += 1
        k = j
        while k + 1 < len(main):
            (t0, s0), (t1, s1) = main[k], main[k + 1]
            free = [s for s in range(s0 + 1, s1) if s not in used]
            if free:
                used.add(free[0])
                out.append((min(max(want, t0), t1), free[0], code))
                break
            k += 1
    return out


def day_extras(assignment_id, main, day_start, day_end, wall, profile_rate):
    """[(instant, event, body)] of the extra events of one pump-local day whose other events are
    ``main`` ([(instant, seq)] in order); ``wall(instant)`` is the pump's wall clock (naive),
    ``profile_rate(instant)`` its profile basal rate (U/h)."""
    out = []
    for ts, seq, code in place(main, day_plan(day_start, day_end)):
        if code == DAILY_BASAL:
            h = zlib.crc32(("%s/%d" % (assignment_id, seq)).encode())
            body = daily_basal_body(15 + h % 1500 / 100.0, profile_rate(ts), h % 300 / 100.0, 3700 + h % 400,
                                    20 + h % 81, True)
        else:
            body = filler_body(assignment_id, code, seq)
        iso = wall(ts).strftime("%Y-%m-%dT%H:%M:%S")
        out.append((ts, {"deviceAssignmentId": assignment_id, "eventCode": code, "sequenceGroup": 0,
                         "sequenceNumber": seq, "pumpDateTime": iso, "eventProperties": properties(code, body),
                         "estimatedDateTime": iso + "Z"}, body))
    return out
