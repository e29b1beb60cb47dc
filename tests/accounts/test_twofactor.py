"""accounts.twofactor: the two functions login and report signing ask."""
import pytest

from accounts import twofactor
from tests.accounts.totp import code_for

pytestmark = pytest.mark.django_db


def test_a_person_without_a_device_has_no_totp_and_no_code_passes(radiologist):
    assert twofactor.has_totp(radiologist) is False
    assert twofactor.verify_totp(radiologist, "123456") is False


def test_an_unconfirmed_device_does_not_count(radiologist):
    device = twofactor.pending_device(radiologist)
    assert twofactor.has_totp(radiologist) is False
    assert twofactor.verify_totp(radiologist, code_for(device)) is False


def test_confirming_with_the_app_code_makes_totp_required_and_codes_verify(radiologist):
    device = twofactor.pending_device(radiologist)
    assert twofactor.confirm_totp(radiologist, code_for(device)) is True
    assert twofactor.has_totp(radiologist) is True
    device.refresh_from_db()
    # The next time step's code passes once; a replay of it (or of the confirming code) does not.
    later = code_for(device, offset_steps=1)
    assert twofactor.verify_totp(radiologist, later) is True
    assert twofactor.verify_totp(radiologist, later) is False


def test_a_wrong_code_is_refused_and_throttles_the_device(radiologist):
    device = twofactor.pending_device(radiologist)
    twofactor.confirm_totp(radiologist, code_for(device))
    device.refresh_from_db()
    wrong = f"{(int(code_for(device, offset_steps=1)) + 1) % 1000000:06d}"
    assert twofactor.verify_totp(radiologist, wrong) is False
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    # While throttled even the right code waits (django-otp: 2**(n-1) seconds after n failures).
    assert twofactor.verify_totp(radiologist, code_for(device, offset_steps=1)) is False


def test_garbage_is_refused_without_touching_the_database(radiologist, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert twofactor.verify_totp(radiologist, "12ab56") is False


def test_another_persons_code_does_not_verify(radiologist, admin_user):
    device = twofactor.pending_device(admin_user)
    twofactor.confirm_totp(admin_user, code_for(device))
    assert twofactor.verify_totp(radiologist, code_for(device, offset_steps=1)) is False
