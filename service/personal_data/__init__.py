"""Participants' personal data in an immutable log: crypto-shredding, erasure, subject access.

The log never holds a name, e-mail or job title in clear. It holds the pseudonymous participant
id, the coarse attributes KPIs need (organisation, role, gender) and, in
``ParticipantRegistered.pii``, the AES-256-GCM ciphertext of ``{name, email, job_title}`` under a
key that belongs to that one person (table ``participant_keys``, migration 0006). Erasure
destroys the key: the ciphertext in the log, in every export and in every backup of the log
becomes unreadable, while the log, its hash chain and every KPI stay exactly as they were (KPIs
never read ``pii``).

Modules: vault (keys and the cipher), guard (what the general event path may not claim),
participants (registration, consents, staff views), erasure, subject_access.
"""

from service.personal_data.erasure import ErasureReceipt, erase_participant, finish_erasures
from service.personal_data.guard import VaultCheckedRecorder, foreign_claims
from service.personal_data.participants import (
    CONTACT_PURPOSE,
    Consent,
    Enrolment,
    ParticipantHistory,
    ParticipantView,
    Registration,
    list_participants,
    participant_history,
    register_participant,
    view_participant,
)
from service.personal_data.subject_access import ANOTHER_PARTICIPANT, SubjectAccessExport, subject_access
from service.personal_data.vault import (
    KeyState,
    ParticipantConflict,
    ParticipantKey,
    ParticipantNotFound,
    PersonalDataError,
    PersonalDataVault,
    PersonalFields,
    associated_data,
    seal,
    unseal,
)

__all__ = [
    "ANOTHER_PARTICIPANT",
    "CONTACT_PURPOSE",
    "Consent",
    "Enrolment",
    "ErasureReceipt",
    "KeyState",
    "ParticipantConflict",
    "ParticipantHistory",
    "ParticipantKey",
    "ParticipantNotFound",
    "ParticipantView",
    "PersonalDataError",
    "PersonalDataVault",
    "PersonalFields",
    "Registration",
    "SubjectAccessExport",
    "VaultCheckedRecorder",
    "associated_data",
    "erase_participant",
    "finish_erasures",
    "foreign_claims",
    "list_participants",
    "participant_history",
    "register_participant",
    "seal",
    "subject_access",
    "unseal",
    "view_participant",
]
