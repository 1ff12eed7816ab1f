"""Response documents of the training API: the shapes of ``to_json()`` of the services."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class MatrixDocumentOut(BaseModel):
    number: str
    title: str
    type: str
    revision: int


class MatrixPersonOut(BaseModel):
    username: str
    name: str


class MatrixOut(BaseModel):
    today: date = Field(description="The plant's calendar day the states were judged on.")
    legend: dict[str, str] = Field(description="Cell code → state name.")
    documents: list[MatrixDocumentOut]
    people: list[MatrixPersonOut]
    states: list[str] = Field(
        description="One string per person, one code per document in `documents` order: "
        "c current, d due, o overdue, - not required."
    )
    total_people: int = Field(description="People the filter covers, on every page.")
    counts: dict[str, int] = Field(description="Cells per state over every page.")


class DueTaskOut(BaseModel):
    username: str
    name: str
    number: str
    title: str
    type: str
    revision: int
    previous_revision: int | None = Field(
        description="The revision this person acknowledged before: show the redline from it."
    )
    assigned_at: datetime
    due_on: date
    overdue: bool


class AdoptionDayOut(BaseModel):
    day: int = Field(description="Whole days since the revision took effect.")
    acknowledged: int
    acknowledged_share: float | None = Field(
        description="Share of the people with a task who had acknowledged by the end of the day."
    )
    executions: int = Field(
        description="Moves that day out of stages whose `sop:` is the document."
    )
    trained_executions: int
    trained_share: float | None = Field(
        description="Share of that day's executions by trained people under this revision."
    )


class AdoptionOut(BaseModel):
    number: str
    title: str
    revision: int
    effective_at: datetime
    people: int
    stages: list[str]
    days: list[AdoptionDayOut]
