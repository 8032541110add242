"""Clinical findings read in context: one row per category and context (issue 27).

Each row is (category, context, message, expected): `emergency` or `urgent`
(a rule of that outcome fires), `nerve` (no emergency or urgent rule, and a
nerve sign is found, so the screening is offered), `none` (no rule fires).
The messages are written for these tests; the unseen sets are never copied.
"""
from __future__ import annotations

from typing import Optional

import pytest

from bot.core.triage import EMERGENCY, URGENT, worst
from tests.unit.safety_net import NET

ROWS = [
    # ---- bilateral or progressive leg weakness (GIRFT suspected CES pathway; NICE CKS sciatica) ----
    ("both_legs", "new, everyday", "both my legs have gone weak since this morning and my back is sore", EMERGENCY),
    ("both_legs", "progressive, hours", "my legs are getting weaker by the hour, both of them, with back ache", EMERGENCY),
    ("both_legs", "UK words", "both legs have gone to jelly today, can barely get up the stairs", EMERGENCY),
    ("both_legs", "tempo: gradual", "both legs have felt a bit weak for a couple of years, slowly, hips ache", URGENT),
    ("both_legs", "tempo: days", "both legs have got weaker and shakier over the past three days, hip ached for months",
     EMERGENCY),
    ("both_legs", "everyday tiredness", "both legs were tired after the long hike but fine the next day", None),
    ("both_legs", "negated", "no weakness in either leg, just an achy outer hip", None),
    ("both_legs", "one side, hip and calf", "my right hip and right calf have both felt weaker lately, why?", None),
    # ---- loss of sensation when passing urine or wiping ----
    ("urethral_sensation", "everyday", "since yesterday I can't feel myself peeing, and my back hurts", EMERGENCY),
    ("urethral_sensation", "euphemism", "when I go for a wee I can't tell it's coming out, started today", EMERGENCY),
    ("wiping", "everyday", "the loo roll feels like nothing when I wipe since last night", EMERGENCY),
    ("wiping", "US words", "i cant feel the tissue down there when i wipe, since monday, back pain too", EMERGENCY),
    # ---- faecal incontinence in everyday words ----
    ("faecal_incontinence", "everyday", "I couldn't hold my bowels this morning, never happened before", EMERGENCY),
    ("faecal_incontinence", "euphemism", "had an accident in my pants today and didn't know until later", EMERGENCY),
    ("faecal_incontinence", "everyday", "pooed my pants on the way home, sciatica in both legs", EMERGENCY),
    ("faecal_incontinence", "short", "didnt make it to the loo, bowels just went", EMERGENCY),
    ("faecal_incontinence", "someone else, past", "my dad had bowel trouble after his operation but that was him not me, my hip is weak", None),
    # ---- acute limb ischaemia (NICE CG147; ESVS 2020) ----
    ("limb_ischaemia", "everyday", "my foot went ice cold and white an hour ago and it really hurts", EMERGENCY),
    ("limb_ischaemia", "clinical words", "sudden pale painful leg, numb, and I can't feel a pulse in the foot", EMERGENCY),
    ("limb_ischaemia", "buried", "I wanted to ask about clamshells for my hip, also my left leg has gone cold and mottled blue since lunch and hurts", EMERGENCY),
    ("limb_ischaemia", "pulse", "no pulse in my right foot and the toes look grey", EMERGENCY),
    ("limb_ischaemia", "everyday cold feet", "my feet are always cold in winter, is that my circulation?", None),
    ("limb_ischaemia", "ice pack", "should I put an ice pack on my sore hip?", None),
    # ---- a sudden, very severe headache (NICE CKS headache; NICE NG228) ----
    ("thunderclap", "everyday", "the worst headache I've ever had hit me ten minutes ago, can't think, hip sore too", EMERGENCY),
    ("thunderclap", "sudden words", "got a sudden blinding headache at lunch, also is walking ok for hips", EMERGENCY),
    ("thunderclap", "long past", "I had the worst migraine of my life back in 2015, anyway about my hip", None),
    ("thunderclap", "ordinary headache", "I get headaches when I don't drink enough, does that affect my hip?", None),
    # ---- a head injury with blood thinners or warning signs (NICE NG232) ----
    ("head_injury", "blood thinners", "bumped my head on the car door, I'm on apixaban, and my hip still aches", EMERGENCY),
    ("head_injury", "vomiting", "tripped and hit my head on the step and now I've been sick twice", EMERGENCY),
    ("head_injury", "a carer's", "mum fell and banged her head and she's drowsy and muddled now", EMERGENCY),
    ("head_injury", "long past", "I knocked my head years ago and was sick then, now my hip hurts", None),
    ("head_injury", "thinners, no knock", "I take warfarin, can I still have hip injections?", None),
    # ---- suicidal thoughts in indirect words (NICE NG225) ----
    ("self_harm", "stockpiling", "I've been hoarding my painkillers, I can't face another year of this", EMERGENCY),
    ("self_harm", "nothing to live for", "honestly there's nothing left to live for with this hip", EMERGENCY),
    ("self_harm", "pills, ordinary", "I take all my tablets with breakfast, is that fine before exercise?", None),
    ("self_harm", "done, ordinary", "I'm done with the exercises for today, what next?", None),
    ("self_harm", "a dose question", "is 3 ibuprofen an overdose, my hip is so sore?", None),
    ("self_harm", "put up with", "my GP says there's no reason to live with this pain, so what can I do?", None),
    ("self_harm", "overdose intent", "I keep thinking about taking an overdose, the pain never stops", EMERGENCY),
    ("thunderclap", "the word itself", "I have a thunderclap headache, also hip pain on the right", EMERGENCY),
    ("thunderclap", "came on suddenly", "my headache came on suddenly an hour ago, and my hip aches", EMERGENCY),
    ("head_injury", "fit me in", "I banged my head on the cupboard this morning. can you fit me in this week?", None),
    ("head_injury", "an idiom", "been banging my head against a wall with this hip and I'm sick of it", None),
    ("foot_drop", "a few times a day", "over the past few months my foot has slowly started to drag, I trip a few "
                                       "times a day", "nerve"),
    # ---- heart attack beside a hip question (NICE CG95; AHA) ----
    ("heart_attack", "classic", "crushing pain in my chest going down my left arm, and I'm sweating", EMERGENCY),
    ("heart_attack", "beside a hip question", "what exercises help a weak hip? also I've got a tight chest that spreads to my jaw", EMERGENCY),
    ("heart_attack", "euphemism", "feels like an elephant is sitting on my chest and I'm clammy", EMERGENCY),
    ("heart_attack", "negated", "no chest pain, no shortness of breath, just the hip", None),
    ("heart_attack", "someone else, past", "my neighbour had a heart attack, so I'm keen to stay active. which hip exercises are safe?", None),
    ("heart_attack", "hypothetical", "what if I get chest pain while doing the exercises?", None),
    # ---- stroke (NICE NG128; AHA BE-FAST) ----
    ("stroke", "face", "my husband's face is drooping on one side and he's talking funny", EMERGENCY),
    ("stroke", "speech", "my speech went slurred about twenty minutes ago and my hip hurts", EMERGENCY),
    ("stroke", "arm, sudden", "suddenly my right arm went weak and heavy and I can't lift it", EMERGENCY),
    ("stroke", "someone else, past", "my neighbour had a stroke. how do I keep my hips strong?", None),
    ("stroke", "idiom", "my face dropped when I saw the price of physio", None),
    # ---- sudden severe breathlessness; DVT and PE (NICE NG158) ----
    ("breathless", "sudden", "I suddenly can't breathe properly, even sitting still", EMERGENCY),
    ("blood_clot", "calf + breathless", "my calf is swollen, red and hot and now I'm short of breath", EMERGENCY),
    ("blood_clot", "after surgery", "two weeks after my hip replacement my calf is swollen and hot and I feel breathless", EMERGENCY),
    ("dvt", "calf alone", "since my hip operation my calf is swollen, warm and tender on one side", URGENT),
    ("breathless", "exercise", "I get out of breath on the stairs, is that my weak glutes?", None),
    # ---- fall, hip or groin pain, cannot take weight (NICE CG124) ----
    ("hip_fracture", "osteoporosis", "I have osteoporosis and slipped in the kitchen, my groin hurts and the leg won't take my weight", EMERGENCY),
    ("hip_fracture", "euphemism", "went flying on the ice this morning, landed on my hip and I can't weight bear", EMERGENCY),
    ("hip_fracture", "UK words", "took a tumble in the garden, bad pain in the groin and I'm hopping, can't put the leg down", EMERGENCY),
    ("hip_fracture", "minor fall, walked fine", "had a little fall last week but got straight back up and walked fine", None),
    # ---- tempo: weakness and foot drop ----
    ("foot_drop", "sudden", "since this morning my foot slaps the floor when I walk", EMERGENCY),
    ("foot_drop", "hours", "my foot started dragging a few hours ago", EMERGENCY),
    ("foot_drop", "gradual, months", "over the last few months my foot has slowly started to drag a little", "nerve"),
    ("foot_drop", "gradual, weeks", "for some weeks now my left foot doesn't lift as well and catches on the carpet", "nerve"),
    ("foot_drop", "no longer lifts, slowly", "my right foot no longer lifts properly, it came on slowly since the spring", "nerve"),
    # ---- nerve signs that were missed ----
    ("nerve", "heels", "I'm unable to stand on my heels on the left side", "nerve"),
    ("nerve", "reflex", "the doctor found a missing ankle reflex and my outer hip hurts", "nerve"),
    # ---- everyday numbness that passes ----
    ("numbness", "after sitting, passes", "my bum went numb on the long flight but it wore off after a minute", None),
    ("numbness", "asleep, passes", "my leg went dead after sleeping on it funny, fine within a minute", "nerve"),
    # ---- someone else, idioms ----
    ("someone_else", "relative's past", "my dad had prostate cancer and couldn't pee properly, that was him not me. my hip is weak", None),
    ("idiom", "killing me", "this hip is killing me, what stretches help?", None),
]


def expected_of(text: str) -> Optional[str]:
    reading = NET.triage.read(text)
    level = worst(reading.findings)
    if level in (EMERGENCY, URGENT):
        return level
    return "nerve" if reading.nerve_signs else None


@pytest.mark.parametrize("category, context, text, expected", ROWS, ids=[f"{r[0]}: {r[1]}" for r in ROWS])
def test_each_finding_in_its_context(category, context, text, expected):
    got = expected_of(text)
    if expected is None:  # nothing, or at most a nerve sign
        assert got in (None, "nerve"), got
    else:
        assert got == expected


EMERGENCY_ROWS = [r for r in ROWS if r[3] == EMERGENCY]
ORDINARY_ROWS = [r for r in ROWS if r[3] in (None, "nerve")]


@pytest.mark.parametrize("category, context, text, expected", EMERGENCY_ROWS,
                         ids=[f"{r[0]}: {r[1]}" for r in EMERGENCY_ROWS])
def test_the_whole_net_catches_each_emergency(category, context, text, expected):
    assert NET.judge(text).assessment.level in (EMERGENCY, "confirm")


@pytest.mark.parametrize("category, context, text, expected", ORDINARY_ROWS,
                         ids=[f"{r[0]}: {r[1]}" for r in ORDINARY_ROWS])
def test_the_whole_net_gives_no_alarm_on_ordinary_messages(category, context, text, expected):
    assert NET.judge(text).assessment.level not in (EMERGENCY, URGENT)
