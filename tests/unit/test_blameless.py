from andon.improvement.blameless import NAME_ADVICE, blameless_prompts


def test_blaming_phrases_are_flagged_with_a_system_focused_suggestion() -> None:
    prompts = blameless_prompts(
        {
            "what_happened": "Operator error at station 3: he failed to torque the bolt.",
            "why": "It was careless; the lead should have checked. Human error.",
        }
    )

    assert [(p.field, p.phrase.lower()) for p in prompts] == [
        ("what_happened", "operator error"),
        ("what_happened", "failed to"),
        ("why", "careless"),
        ("why", "should have"),
        ("why", "human error"),
    ]
    assert prompts[0].start == 0
    assert "step, check or signal" in prompts[0].suggestion


def test_people_named_from_the_users_table_are_flagged_but_short_names_and_parts_are_not() -> None:
    text = "Dana Smith stopped the line; also the dana-board and Danaher parts were late."

    prompts = blameless_prompts({"summary": text}, ["Dana Smith", "dana", "Al"])

    assert [(p.phrase, p.start, p.suggestion) for p in prompts] == [
        ("Dana Smith", 0, NAME_ADVICE),
        ("dana", text.index("dana-board"), NAME_ADVICE),
    ]


def test_system_focused_wording_raises_no_prompt() -> None:
    text = (
        "The torque tool was not calibrated for the new fastener; the SOP did not list the "
        "new setting and the checklist did not prompt for it. Fault-tree analysis attached."
    )

    assert blameless_prompts({"why": text, "changes": ""}, ["bob"]) == []


def test_fault_of_and_not_following_the_procedure_are_flagged() -> None:
    prompts = blameless_prompts(
        {"why": "It was the fault of the second shift, who did not follow the SOP."}
    )

    assert [p.phrase for p in prompts] == ["fault of", "did not follow the SOP"]
