from pathlib import Path

import pytest

from services.mail.transport import FileTransport, SmtpLocation, SmtpTransport, transport_for
from services.settings import Settings, SettingsError


def test_the_smtp_url_names_host_port_credentials_and_how_tls_is_used() -> None:
    plain = SmtpLocation.from_url("smtp://mail.example:2525")
    assert (plain.hostname, plain.port, plain.username, plain.use_tls, plain.start_tls) == (
        "mail.example",
        2525,
        None,
        False,
        None,
    )
    starttls = SmtpLocation.from_url("smtp://ann%40x.dk:p%2Fw@mail.example?starttls=1")
    assert (starttls.port, starttls.username, starttls.password, starttls.start_tls) == (
        25,
        "ann@x.dk",
        "p/w",
        True,
    )
    assert SmtpLocation.from_url("smtp://mail.example?starttls=0").start_tls is False
    implicit = SmtpLocation.from_url("smtps://u:p@mail.example")
    assert (implicit.port, implicit.use_tls, implicit.start_tls) == (465, True, None)


def test_an_smtp_url_of_another_scheme_is_refused_by_name() -> None:
    with pytest.raises(SettingsError, match="smtp:// or smtps://"):
        SmtpLocation.from_url("http://mail.example")


def test_without_an_smtp_url_messages_are_written_under_the_data_dir(tmp_path: Path) -> None:
    transport = transport_for(Settings(data_dir=tmp_path))
    assert isinstance(transport, FileTransport)
    assert transport.directory == tmp_path / "outbox"
    configured = Settings.from_environ({"BALKORT_SMTP_URL": "smtp://mail.example:587?starttls=1"})
    smtp = transport_for(configured)
    assert isinstance(smtp, SmtpTransport)
    assert smtp.location.start_tls is True
