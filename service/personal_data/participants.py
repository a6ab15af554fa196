"""One participant as the log and the vault know them: registration, consents, staff views.

Staff see a participant's personal fields unless the person withdrew consent for contact
(purpose ``communication``; given again, they show again) or was erased.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any, Final, Literal

import msgspec

from events.catalog import (
    ActivityRetracted,
    ConsentRecorded,
    ConsentWithdrawn,
    CorrectionRecorded,
    EventPayload,
    ParticipantErased,
    ParticipantRegistered,
    PayloadError,
    apply_correction,
    decode_payload,
)
from events.catalog.vocabulary import ConsentPurpose, Gender, Id, LawfulBasis, Role, ShortText
from events.connection import Executor
from events.envelope import AppendedEvent
from events.errors import WrongExpectedVersion
from events.read import read_stream
from service.commands import EventCommand
from service.personal_data.vault import (
    Email,
    ParticipantConflict,
    ParticipantKey,
    ParticipantNotFound,
    PersonalDataVault,
    PersonalFields,
)
from service.recording import Recorder

# Withdrawing consent for this purpose hides the personal fields everywhere but subject access.
CONTACT_PURPOSE: Final = "communication"


class Consent(msgspec.Struct, frozen=True, kw_only=True):
    """The latest consent event for one purpose."""

    purpose: ConsentPurpose
    status: Literal["given", "withdrawn"]
    basis: LawfulBasis
    date: dt.date
    position: int


PersonalDataStatus = Literal["shown", "withheld", "erased", "none"]


class ParticipantView(msgspec.Struct, frozen=True, kw_only=True):
    """A participant as staff see them. `personal_data` says why `personal` is null: withheld
    (consent for contact withdrawn), erased, or none (registered without personal fields)."""

    participant_id: str
    org_id: str
    role: Role
    gender: Gender
    registered_on: dt.date | None
    position: int
    personal_data: PersonalDataStatus
    personal: PersonalFields | None
    consents: list[Consent]


@dataclasses.dataclass
class ParticipantHistory:
    """The fold of one participant's stream: registration (as corrected), consents, erasure."""

    participant_id: str
    registration: ParticipantRegistered | None = None
    registration_id: uuid.UUID | None = None
    registered_on: dt.date | None = None
    position: int = 0
    stream_version: int = 0
    consents: dict[str, Consent] = dataclasses.field(default_factory=dict)
    erasure: ParticipantErased | None = None

    def apply(self, row: Any, payload: EventPayload) -> None:
        """Fold one event of the stream (in position order)."""
        match payload:
            case ParticipantRegistered():
                self.registration, self.registration_id = payload, row["event_id"]
                self.registered_on, self.position = row["occurred_on"], row["position"]
                self.stream_version = row["stream_version"]
            case ConsentRecorded() | ConsentWithdrawn():
                status: Literal["given", "withdrawn"] = (
                    "given" if isinstance(payload, ConsentRecorded) else "withdrawn"
                )
                consent = Consent(
                    purpose=payload.purpose,
                    status=status,
                    basis=payload.basis,
                    date=payload.date,
                    position=row["position"],
                )
                # The latest by date decides; a consent recorded late but dated before a
                # withdrawal does not undo the withdrawal.
                earlier = self.consents.get(payload.purpose)
                if earlier is None or earlier.date <= consent.date:
                    self.consents[payload.purpose] = consent
            case ParticipantErased():
                self.erasure = payload
            case CorrectionRecorded() if payload.target_event_id == self.registration_id:
                assert self.registration is not None and self.registered_on is not None
                try:
                    corrected, self.registered_on = apply_correction(
                        self.registration, self.registered_on, payload
                    )
                except PayloadError:
                    return  # the engine skips such a correction too
                assert isinstance(corrected, ParticipantRegistered)
                self.registration = corrected
            case ActivityRetracted() if payload.target_event_id == self.registration_id:
                self.registration = self.registration_id = None

    @property
    def contact_withdrawn(self) -> bool:
        """Consent for contact was withdrawn (and not given again since)."""
        consent = self.consents.get(CONTACT_PURPOSE)
        return consent is not None and consent.status == "withdrawn"


PARTICIPANT_STREAMS = """
SELECT position, event_id, stream_id, stream_version, type, schema_version, occurred_on, data::text AS data
  FROM events WHERE project_id = $1 AND stream_id LIKE 'participant-%' ORDER BY position
"""


async def participant_history(db: Executor, project_id: str, participant_id: str) -> ParticipantHistory:
    """Fold the participant's stream; ParticipantNotFound when it was never registered."""
    history = ParticipantHistory(participant_id)
    for event in await read_stream(db, project_id, f"participant-{participant_id}", limit=100_000):
        row = {
            "event_id": event.event_id,
            "occurred_on": event.occurred_on,
            "position": event.position,
            "stream_version": event.stream_version,
        }
        history.apply(row, decode_payload(event.type, bytes(event.data), event.schema_version))
    if history.registration is None:
        raise ParticipantNotFound(f"no participant {participant_id!r} in project {project_id!r}")
    return history


async def every_participant(db: Executor, project_id: str) -> list[ParticipantHistory]:
    """Every registered participant of the project, in order of registration."""
    histories: dict[str, ParticipantHistory] = {}
    for row in await db.fetch(PARTICIPANT_STREAMS, project_id):
        participant_id = row["stream_id"].removeprefix("participant-")
        history = histories.setdefault(participant_id, ParticipantHistory(participant_id))
        history.apply(row, decode_payload(row["type"], row["data"].encode(), row["schema_version"]))
    found = [h for h in histories.values() if h.registration is not None]
    return sorted(found, key=lambda h: h.position)


def staff_view(history: ParticipantHistory, key: ParticipantKey | None) -> ParticipantView:
    """What staff may see: personal fields unless erased or consent for contact withdrawn."""
    registration = history.registration
    assert registration is not None
    status: PersonalDataStatus
    personal = None
    if history.erasure is not None or (key is not None and key.erased):
        status = "erased"
    elif registration.pii is None or key is None:
        status = "none"
    elif history.contact_withdrawn:
        status = "withheld"
    else:
        personal = PersonalDataVault.unseal(key, registration.pii)
        status = "shown" if personal is not None else "none"
    return ParticipantView(
        participant_id=history.participant_id,
        org_id=registration.org_id,
        role=registration.role,
        gender=registration.gender,
        registered_on=history.registered_on,
        position=history.position,
        personal_data=status,
        personal=personal,
        consents=sorted(history.consents.values(), key=lambda c: c.purpose),
    )


async def view_participant(db: Executor, project_id: str, participant_id: str) -> ParticipantView:
    """One participant as staff see them."""
    history = await participant_history(db, project_id, participant_id)
    return staff_view(history, await PersonalDataVault(db).key_of(project_id, participant_id))


async def list_participants(db: Executor, project_id: str) -> list[ParticipantView]:
    """Every participant as staff see them."""
    histories = await every_participant(db, project_id)
    keys = await PersonalDataVault(db).keys_of(project_id, [h.participant_id for h in histories])
    return [staff_view(h, keys.get(h.participant_id)) for h in histories]


# --- registering a person -------------------------------------------------------------------------


class Enrolment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A person to register: pseudonymous id and KPI attributes for the log, personal fields for
    the vault (encrypted before anything is written)."""

    participant_id: Id
    org_id: Id
    role: Role
    gender: Gender
    name: ShortText
    email: Email | None = None
    job_title: ShortText | None = None
    occurred_on: dt.date | None = None
    partner_org_id: ShortText | None = None

    def fields(self) -> PersonalFields:
        """The personal fields alone."""
        return PersonalFields(name=self.name, email=self.email, job_title=self.job_title)


class Registration(msgspec.Struct, frozen=True, kw_only=True):
    """Where the registration landed; `replayed` when the same person was registered before."""

    participant_id: str
    key_id: str
    event: AppendedEvent
    replayed: bool


async def register_participant(
    recorder: Recorder, project_id: str, enrolment: Enrolment, actor: dict[str, Any]
) -> Registration:
    """Encrypt the personal fields under a new per-person key and record ParticipantRegistered.

    The same enrolment again answers with the original registration; another one for the same
    id is a ParticipantConflict, as is an id that was erased.
    """
    vault = PersonalDataVault(recorder.store.pool)
    pid = enrolment.participant_id
    for _attempt in range(2):
        replay = await _earlier_registration(recorder, project_id, enrolment)
        if replay is not None:
            return replay
        # A registration the rules refuse (unknown organisation, a date outside the project)
        # is refused before a key is made for it: nothing is written.
        await recorder.check(project_id, _registration(enrolment, pii=None), actor=actor)
        key = await vault.issue_key(project_id, pid)
        if key.erased:
            raise ParticipantConflict(f"participant {pid!r} was erased; register the person under a new id")
        command = _registration(enrolment, pii=msgspec.to_builtins(vault.seal(key, enrolment.fields())))
        try:
            (appended,) = await recorder.record(project_id, [command], actor=actor, indexed=False)
        except WrongExpectedVersion:
            continue
        return Registration(participant_id=pid, key_id=key.key_id, event=appended, replayed=False)
    raise ParticipantConflict(f"participant {pid!r} is being registered concurrently; try again")


def _registration(enrolment: Enrolment, pii: Any) -> EventCommand:
    """The ParticipantRegistered of an enrolment, with `pii` as sealed by the vault (or none)."""
    pid = enrolment.participant_id
    data: dict[str, Any] = {
        "participant_id": pid,
        "org_id": enrolment.org_id,
        "role": enrolment.role,
        "gender": enrolment.gender,
    }
    if pii is not None:
        data["pii"] = pii
    return EventCommand(
        type="ParticipantRegistered",
        occurred_on=enrolment.occurred_on or dt.date.today(),
        partner_org_id=enrolment.partner_org_id,
        stream=f"participant-{pid}",
        # A concurrent registration of the same id loses here and is compared on the retry.
        expected_version=0,
        data=data,
    )


async def _earlier_registration(
    recorder: Recorder, project_id: str, enrolment: Enrolment
) -> Registration | None:
    """The registration already in the log if it is this very enrolment; conflict if it differs."""
    pid = enrolment.participant_id
    try:
        history = await participant_history(recorder.store.pool, project_id, pid)
    except ParticipantNotFound:
        return None
    key = await PersonalDataVault(recorder.store.pool).key_of(project_id, pid)
    registered = history.registration
    assert registered is not None and history.registration_id is not None
    if key is None or key.erased or history.erasure is not None:
        raise ParticipantConflict(
            f"participant {pid!r} is already registered (position {history.position}) and has no "
            "personal data in the vault (registered without it, or erased)"
        )
    same = (
        (registered.org_id, registered.role, registered.gender)
        == (enrolment.org_id, enrolment.role, enrolment.gender)
        and registered.pii is not None
        and PersonalDataVault.unseal(key, registered.pii) == enrolment.fields()
    )
    if not same:
        raise ParticipantConflict(
            f"participant {pid!r} is already registered (position {history.position}) with other data"
        )
    event = AppendedEvent(
        event_id=history.registration_id,
        position=history.position,
        stream=f"participant-{pid}",
        stream_version=history.stream_version,
    )
    return Registration(participant_id=pid, key_id=key.key_id, event=event, replayed=True)
