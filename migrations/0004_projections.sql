-- Read models: what projections/ folds out of the log, and how far each has read.
-- Never edit this file after it has landed; add a new numbered file instead.
--
-- Every read-model table is keyed by project_id first (Citus can distribute them all by it) and
-- can be thrown away: the log is the truth, `impactlog replay` rebuilds any of them from zero.

-- How far one projection has read one project's log. Written in the same transaction as the
-- read-model rows of the batch it records, so a crash never double-counts or skips an event.
CREATE TABLE projection_checkpoints (
    projection  text        NOT NULL,
    project_id  text        NOT NULL,
    position    bigint      NOT NULL DEFAULT 0 CHECK (position >= 0),
    -- The projection code's version that built the rows; another version rebuilds them.
    version     integer     NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, project_id)
);

-- The sources of a keyed projection: which log positions make up each key (an organisation, a
-- participant, an exchange, an activity, an SME's survey history), and whether each is still
-- live. Corrections are stored under their target's key; retractions only flip `live`. Payloads
-- are read back from the log, never copied. One table per projection, so each rebuilds alone.
CREATE TABLE organisation_sources (
    project_id  text    NOT NULL,
    position    bigint  NOT NULL,
    key         text    NOT NULL,
    event_id    uuid    NOT NULL,
    live        boolean NOT NULL,
    PRIMARY KEY (project_id, position)
);
CREATE INDEX organisation_sources_by_key ON organisation_sources (project_id, key);
CREATE INDEX organisation_sources_by_event ON organisation_sources (project_id, event_id);

CREATE TABLE participant_sources (LIKE organisation_sources INCLUDING ALL);
CREATE TABLE exchange_sources (LIKE organisation_sources INCLUDING ALL);
CREATE TABLE activity_sources (LIKE organisation_sources INCLUDING ALL);
CREATE TABLE survey_sources (LIKE organisation_sources INCLUDING ALL);

-- Organisations as their last live registration describes them.
CREATE TABLE organisations (
    project_id        text    NOT NULL,
    org_id            text    NOT NULL,
    name              text    NOT NULL,
    org_type          text    NOT NULL,
    country           text    NOT NULL,
    nuts2             text    NOT NULL,
    region_category   text    NOT NULL,
    nace              text    NOT NULL,
    ecosystem         text    NOT NULL,
    eccp_profile_id   text,
    cluster_member_of text[]  NOT NULL,
    -- As registered; the class in force on a day is in organisation_size_classes.
    size_class        text    NOT NULL,
    headcount         integer NOT NULL,
    turnover_band     text    NOT NULL,
    registered_on     date    NOT NULL,
    partner_org_id    text,
    position          bigint  NOT NULL,
    event_id          uuid    NOT NULL,
    PRIMARY KEY (project_id, org_id)
);

-- Size class history. seq 0 is the registration's class, in force until the first change and
-- also before the registration's own date; seq 1.. are the live OrganisationSizeClassChanged
-- ordered by (valid_from, position). The class on day D is the row with the highest seq among
-- seq 0 and the rows with valid_from <= D (projections.organisations.SIZE_CLASS_ON).
CREATE TABLE organisation_size_classes (
    project_id      text    NOT NULL,
    org_id          text    NOT NULL,
    seq             integer NOT NULL,
    valid_from      date    NOT NULL,
    size_class      text    NOT NULL,
    basis           text,
    reference_year  integer,
    position        bigint  NOT NULL,
    event_id        uuid    NOT NULL,
    PRIMARY KEY (project_id, org_id, seq)
);

-- Pseudonymous participants: no personal data, only the coarse dimensions KPIs need.
CREATE TABLE participants (
    project_id      text    NOT NULL,
    participant_id  text    NOT NULL,
    org_id          text    NOT NULL,
    role            text    NOT NULL,
    gender          text    NOT NULL,
    erased          boolean NOT NULL,
    erased_on       date,
    registered_on   date    NOT NULL,
    partner_org_id  text,
    position        bigint  NOT NULL,
    event_id        uuid    NOT NULL,
    PRIMARY KEY (project_id, participant_id)
);

-- ClusterXchange exchanges with their lifecycle folded in.
CREATE TABLE exchanges (
    project_id       text    NOT NULL,
    exchange_id      text    NOT NULL,
    vo_org_id        text    NOT NULL,
    ho_org_id        text    NOT NULL,
    vop_id           text    NOT NULL,
    hop_id           text    NOT NULL,
    partner_org_id   text,
    status           text    NOT NULL CHECK (status IN ('registered', 'completed', 'cancelled')),
    -- Paid by this project's partnership (vop_id = ProjectRegistered.partnership_id), not cancelled.
    counted          boolean NOT NULL,
    registered_on    date    NOT NULL,
    planned_start    date,
    planned_end      date,
    actual_start     date,
    actual_end       date,
    working_days     integer,
    mode             text,
    distance_km      integer,
    -- From the latest live closing report.
    satisfaction_vo  smallint,
    satisfaction_ho  smallint,
    objectives_met   text,
    closing_reports  integer NOT NULL,
    lump_sums_eur    numeric NOT NULL,
    payments         integer NOT NULL,
    cancel_reason    text,
    position         bigint  NOT NULL,
    event_id         uuid    NOT NULL,
    PRIMARY KEY (project_id, exchange_id)
);

-- Trainings, coaching sessions and outreach events, one row per recorded event; a retracted
-- one stays with live = false.
CREATE TABLE activities (
    project_id      text    NOT NULL,
    event_id        uuid    NOT NULL,
    kind            text    NOT NULL CHECK (kind IN ('training', 'coaching', 'outreach')),
    -- session_id, engagement_id or outreach_id
    activity_id     text    NOT NULL,
    live            boolean NOT NULL,
    occurred_on     date    NOT NULL,
    partner_org_id  text,
    topic           text,
    -- a training's format, a coaching session's mode
    format          text,
    -- a training's or an outreach event's venue
    country         text,
    -- a training's duration_hours, a coaching session's hours
    hours           numeric,
    -- a training's Σ attended_hours
    person_hours    numeric,
    -- a training's listed attendees, an outreach event's contacts
    attendees       integer,
    coach_org_id    text,
    coachee_org_id  text,
    event_type      text,
    b2b_meetings    integer,
    sme_count       integer,
    position        bigint  NOT NULL,
    PRIMARY KEY (project_id, event_id)
);
CREATE INDEX activities_by_activity_id ON activities (project_id, activity_id);

-- Who attended each training (join activities on event_id for live, date and topic).
CREATE TABLE activity_attendance (
    project_id      text    NOT NULL,
    event_id        uuid    NOT NULL,
    seq             integer NOT NULL,
    participant_id  text    NOT NULL,
    org_id          text    NOT NULL,
    attended_hours  numeric NOT NULL,
    PRIMARY KEY (project_id, event_id, seq)
);
CREATE INDEX activity_attendance_by_participant ON activity_attendance (project_id, participant_id);

-- The SME survey panel: the last live response of each SME per survey and wave.
CREATE TABLE survey_responses (
    project_id            text     NOT NULL,
    survey_id             text     NOT NULL,
    org_id                text     NOT NULL,
    wave                  text     NOT NULL,
    ref_year              integer  NOT NULL,
    turnover_eur          numeric  NOT NULL,
    employees_fte         numeric  NOT NULL,
    export_turnover_eur   numeric  NOT NULL,
    export_countries      text[]   NOT NULL,
    new_products          integer  NOT NULL,
    process_innovation    boolean  NOT NULL,
    digital_score         integer  NOT NULL,
    green_measures        text[]   NOT NULL,
    investment_raised_eur numeric  NOT NULL,
    attribution_share     numeric  NOT NULL,
    responded_on          date     NOT NULL,
    position              bigint   NOT NULL,
    event_id              uuid     NOT NULL,
    PRIMARY KEY (project_id, survey_id, org_id, wave)
);
