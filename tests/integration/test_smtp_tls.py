"""SMTP security against real local TLS servers: a test CA from trustme, aiosmtpd servers, no mocks."""
import dataclasses
import smtplib
import ssl

import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword

from bot.leads.notify import deliver_due, send_email, smtp_problem
from bot.leads.store import submit
from tests.integration.test_notify import CLINICS, attempts
from tests.support.helpers import SmtpSink
from tests.unit.test_leads import lead

USER, PASSWORD = "staff", "s3cret-Pa55"


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def ca_file(ca, tmp_path):
    """The test CA as a PEM file, as SMTP_CA_FILE would name it."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def server_context(ca, *names):
    """A server-side TLS context with a certificate from the test CA for the given names."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*(names or ("127.0.0.1", "localhost"))).configure_cert(context)
    return context


def login_checker(server, session, envelope, mechanism, auth_data):
    """aiosmtpd authenticator: accepts only the test account."""
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


def smtp(settings, sink, security, ca_file=None, **changes):
    """Settings that send through this sink with the given SMTP_SECURITY and SMTP_CA_FILE."""
    return dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=sink.port, smtp_security=security,
                               smtp_ca_file=ca_file, **changes)


def starttls_sink(ca, *names):
    """A server that insists on STARTTLS before mail and before AUTH."""
    return SmtpSink(tls_context=server_context(ca, *names), require_starttls=True,
                    authenticator=login_checker, auth_require_tls=True)


def send(settings):
    send_email(settings, "frontdesk@example.com", "[ROUTINE] New lead for Test (#1)", "Lead: http://x/leads/1")


def test_starttls_with_the_clinic_ca_delivers_and_logs_in_over_tls(settings, ca, ca_file):
    with starttls_sink(ca) as sink:
        send(smtp(settings, sink, "starttls", ca_file, smtp_user=USER, smtp_password=PASSWORD))
    [message] = sink.messages
    assert message["tls"] and message["authenticated"]
    assert message["subject"] == "[ROUTINE] New lead for Test (#1)"


def test_a_refused_login_is_recorded_without_the_password(settings, ca, ca_file):
    with starttls_sink(ca) as sink:
        submit(settings, CLINICS, lead())
        wrong = "not-the-" + PASSWORD
        assert deliver_due(smtp(settings, sink, "starttls", ca_file, smtp_user=USER, smtp_password=wrong))[
            "failed"] == 1
    [(ok, error)] = attempts(settings)
    assert ok == 0 and "SMTPAuthenticationError" in error and wrong not in error
    assert sink.messages == []


def test_starttls_refuses_a_certificate_the_system_does_not_trust(settings, ca):
    with starttls_sink(ca) as sink:
        with pytest.raises(ssl.SSLCertVerificationError):
            send(smtp(settings, sink, "starttls", ca_file=None))  # no SMTP_CA_FILE: the system CAs
    assert sink.messages == []


def test_starttls_checks_the_host_name(settings, ca, ca_file):
    with starttls_sink(ca, "mail.example.com") as sink:  # trusted CA, but a certificate for another host
        with pytest.raises(ssl.SSLCertVerificationError, match="match|mismatch"):
            send(smtp(settings, sink, "starttls", ca_file))
    assert sink.messages == []


def test_implicit_tls_delivers(settings, ca, ca_file):
    with SmtpSink(ssl_context=server_context(ca)) as sink:
        send(smtp(settings, sink, "tls", ca_file))
    [message] = sink.messages
    assert message["tls"]


def test_implicit_tls_refuses_an_untrusted_certificate(settings, ca):
    with SmtpSink(ssl_context=server_context(ca)) as sink:
        with pytest.raises(ssl.SSLCertVerificationError):
            send(smtp(settings, sink, "tls", ca_file=None))
    assert sink.messages == []


def test_starttls_never_falls_back_to_plain_text(settings, smtp_sink):
    with pytest.raises(smtplib.SMTPNotSupportedError):
        send(smtp(settings, smtp_sink, "starttls"))
    assert smtp_sink.messages == []


def test_no_security_with_credentials_is_refused_before_connecting(settings, smtp_sink):
    risky = smtp(settings, smtp_sink, "none", smtp_user=USER, smtp_password=PASSWORD)
    problem = smtp_problem(risky)
    assert problem and "SMTP_SECURITY=none" in problem and "SMTP_USER" in problem and "clear text" in problem
    assert PASSWORD not in problem
    with pytest.raises(RuntimeError, match="clear text"):
        send(risky)
    assert smtp_sink.greetings == 0 and smtp_sink.messages == []
    # Without credentials, `none` is a plain local relay: allowed, and the sink sees the session.
    relay = smtp(settings, smtp_sink, "none")
    assert smtp_problem(relay) is None and smtp_problem(smtp(settings, smtp_sink, "starttls", smtp_user=USER)) is None
    send(relay)
    assert smtp_sink.greetings == 1 and len(smtp_sink.messages) == 1


def test_an_untrusted_certificate_is_a_recorded_failed_attempt(settings, ca):
    submit(settings, CLINICS, lead())
    with starttls_sink(ca) as sink:
        assert deliver_due(smtp(settings, sink, "starttls")) == {"sent": 0, "failed": 1, "given_up": 0}
    [(ok, error)] = attempts(settings)
    assert ok == 0 and "SSLCertVerificationError" in error and "CERTIFICATE_VERIFY_FAILED" in error
    assert sink.messages == []
