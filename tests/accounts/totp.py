"""Codes computed the way an authenticator app does (RFC 6238), from the device's key."""
from __future__ import annotations

import time

from django_otp.oath import TOTP


def code_for(device, *, at: float | None = None, offset_steps: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = (time.time() if at is None else at) + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"
