"""Nerve signs and three emergencies by category and context (issue 27, safety net v4).

Each row is (category, context, message, expected), written for these tests in
the voices of visitors over 50 (US and UK words, typos, fragments, the sign
buried in a story); no visitor set is copied. Expected:
`emergency`: an emergency rule fires and the whole net catches it (at once or
by the confirming question); `nerve`: a nerve sign is found, no emergency or
urgent rule fires and the net raises no alarm, so the screening is offered
without 911; `quiet`: no emergency, urgent or confirming question (a nerve sign
may be offered); `None`: no alarm and no nerve sign either.
"""
from __future__ import annotations

from typing import Optional

import pytest

from bot.core.triage import CONFIRM, EMERGENCY, URGENT, worst
from tests.unit.safety_net import NET

NERVE, QUIET = "nerve", "quiet"

ROWS = [
    # ---- pain travelling down the leg, below the knee, into the foot (NICE CKS sciatica) ----
    ("radiating", "everyday, UK", "the pain runs from my lower back right down the back of my leg", NERVE),
    ("radiating", "everyday, US", "i get this shooting pain down the back of my leg when i walk to the mailbox", NERVE),
    ("radiating", "below the knee", "hip ache that travels down the outside of my leg past the knee to the ankle",
     NERVE),
    ("radiating", "to the foot", "My hip pain radiates all the way down to my foot some days", NERVE),
    ("radiating", "into the toes", "sore bum and the pain goes down my leg into my toes", NERVE),
    ("radiating", "shin", "theres an ache that spreads down my shin most evenings", NERVE),
    ("radiating", "typo", "pain shoting down my leg evry time i stand up", NERVE),
    ("radiating", "buried in a story", "I'm 67 and walk the dog twice a day, I've done the exercises the physio "
                                        "gave me, the bridges and so on, but lately when I get up from the chair "
                                        "there's a pain that travels from my buttock down into my calf. Should "
                                        "I keep going with the exercises?", NERVE),
    ("radiating", "fragment", "back of leg. all the way to heel. 3 weeks", NERVE),
    ("radiating", "past the knee, long way round", "it starts in my backside and goes on past the knee and into "
                                                   "my foot", NERVE),
    ("radiating", "below the knee, down to", "achy from the hip, under my knee and down to the ankle", NERVE),
    ("radiating", "knee and foot, not travelling", "my knee is stiff and my foot is sore in the mornings", None),
    # ---- sciatica, trapped or pinched nerve ----
    ("sciatica", "typo", "i think my siatica is playing up again", NERVE),
    ("sciatica", "everyday, UK", "GP reckons a disc is pressing on a nerve in my lower back", NERVE),
    ("sciatica", "trapped, other order", "feels like a nerve is trapped somewhere in my hip", NERVE),
    ("sciatica", "pinched a nerve", "I think I've pinched a nerve gardening, my outer hip is weak", NERVE),
    ("sciatica", "nerve root", "MRI showed an L5 nerve root irritation, is this related to my glute weakness?", NERVE),
    ("sciatica", "clinical", "I was told it's lumbar radiculopathy", NERVE),
    # ---- pins and needles, tingling, burning, electric shocks, numb patches ----
    ("tingling", "hyphens", "pins-and-needles in my left foot on and off", NERVE),
    ("tingling", "prickling", "a prickly, fizzing feeling on the top of my foot", NERVE),
    ("tingling", "electric", "little zaps like electric shocks in my calf when I bend", NERVE),
    ("tingling", "jolts", "jolts of pain down my leg when i turn in bed", NERVE),
    ("numb patch", "shin", "a dead patch on my shin, I can't feel it when I touch it", NERVE),
    ("numb patch", "big toe", "no feeling in my big toe for a few weeks and the hip is weak", NERVE),
    ("numb patch", "sole", "the sole of my foot feels like its wrapped in a thick sock, hip sore too", NERVE),
    # ---- weakness lifting the foot or toes, heels, tiptoe, push-off ----
    ("weakness", "calf raises", "I can't do calf raises on my right leg any more, the left is fine", NERVE),
    ("weakness", "push off", "struggle to push off with my toes when I walk, been like that a while", NERVE),
    ("weakness", "catching toes, months", "for a couple of months I keep catching my toes on the pavement", NERVE),
    ("weakness", "heels, everyday", "walking on my heels is impossible on the right side these days", NERVE),
    ("weakness", "foot slapping, gradually", "my foot has slowly started to slap down when I walk, over the last "
                                             "few months", NERVE),
    ("weakness", "front of the foot, like I used to", "I can't lift the front of my foot like I used to, it's "
                                                        "been coming on for weeks", NERVE),
    ("weakness", "front of the foot, fragment", "cannot raise front of foot. slowly worse. about a month", NERVE),
    ("weakness", "hip and calf", "my hip and calf feel weak but I have no back pain", NERVE),
    ("weakness", "the calf on that side", "the calf on the bad side is getting weaker too", NERVE),
    ("asking", "is it a nerve", "could all this be a nerve problem rather than the tendon?", NERVE),
    # ---- reflexes, as a doctor told it ----
    ("reflex", "ankle jerk gone", "the GP said my ankle jerk has gone on the left", NERVE),
    ("reflex", "no reflex found", "doctor couldn't get a reflex at my ankle, what does that mean?", NERVE),
    ("reflex", "tapped", "the doctor tapped my knee with the hammer and nothing happened", NERVE),
    # ---- worse on coughing or sneezing; straight-leg raise ----
    ("cough", "everyday", "my leg pain is much worse when i cough or sneeze", NERVE),
    ("cough", "buttock", "sneezing sends a jolt through my buttock and down the leg", NERVE),
    ("straight leg raise", "physio", "the physio did a straight leg raise and it sent pain down to my foot", NERVE),
    ("straight leg raise", "clinical", "positive SLR on the right at 40 degrees", NERVE),
    # ---- "do" and "did" are not negations (a cue's lemma, "dont" -> "do", once made them so) ----
    ("negation", "a question with do", "do my toes tingle because of my back?", NERVE),
    ("negation", "did, emphatic", "I did wet myself this morning and my back is killing me", EMERGENCY),
    # ---- hard negatives for nerve signs ----
    ("not nerve", "hip pain to the groin", "my hip pain radiates into my groin when I get out of the car", None),
    ("not nerve", "outer thigh to the knee", "the ache spreads down the outside of my thigh to the knee", None),
    ("not nerve", "sciatica years ago", "I had sciatica years ago but it cleared up, now it's just my hip", None),
    ("not nerve", "hamstring after running", "tight hamstrings after my run, what stretch is best?", None),
    ("not nerve", "walking down to", "I walk down to the shops every day, is that enough exercise?", None),
    ("not nerve", "idiom", "my neighbour is a real pain in the neck, anyway which exercises help my hip?", None),
    ("not nerve", "bending down to my feet", "it hurts to bend down to my feet to put socks on", None),
    ("not nerve", "hypothetical", "can a trapped nerve cause hip pain, or is that a myth?", QUIET),
    ("not nerve", "numb after sitting, passes", "my foot went numb after sitting cross-legged, gone in a minute",
     QUIET),
    # ---- septic joint: fever or shivers with a hot, red, swollen, very painful joint (NICE CKS septic arthritis)
    ("septic joint", "knee replacement, UK", "my new knee is red hot and swollen and I've got the shivers", EMERGENCY),
    ("septic joint", "overnight, everyday", "the knee went up like a balloon overnight, it's boiling hot and "
                                            "I'm shaking and feel dreadful", EMERGENCY),
    ("septic joint", "ankle, can't touch", "I feel really poorly with a fever and my ankle is hugely swollen, "
                                           "can't bear anyone to touch it", EMERGENCY),
    ("septic joint", "no redness, agony", "fevers and chills, and my hip is so painful I can't move it at all",
     EMERGENCY),
    ("septic joint", "burning up", "burning up and the hip joint is red and puffy", EMERGENCY),
    ("septic joint", "carer, hip replacement", "Mum had her hip replaced in May. Today the scar is hot and "
                                               "weeping and she's running a temperature", EMERGENCY),
    ("septic joint", "shoulder, US", "my shoulder is swollen and hot and I have chills", EMERGENCY),
    ("septic joint", "buried", "I'm booked for physio next week for my hip, but since yesterday my knee "
                               "replacement is swollen and red and I've had the shakes all night, should I still go?",
     EMERGENCY),
    ("septic joint", "negated fever", "my knee was hot and swollen after gardening but no fever", QUIET),
    ("septic joint", "past", "I had a septic knee years ago, all fine now, which hip exercises are safe?", QUIET),
    ("septic joint", "someone else", "my friend had an infected hip replacement last year, she's fine now", QUIET),
    ("septic joint", "hypothetical", "what if my new hip gets hot and swollen with a fever after the op?", QUIET),
    ("septic joint", "hot flushes", "hot flushes at night and my hips ache, is that the menopause?", QUIET),
    # ---- hip fracture: a fall, then cannot stand or bear weight, leg short or turned out (NICE CG124) ----
    ("hip fracture", "stumbled", "I stumbled on the kerb this morning and now I can't put any weight through "
                                 "my right leg", EMERGENCY),
    ("hip fracture", "came a cropper", "came a cropper on the icy path, the hip is agony and I can barely "
                                       "hobble", EMERGENCY),
    ("hip fracture", "legs went from under", "my legs went from under me in the bathroom, I've got osteoporosis "
                                             "and I can't get up off the floor", EMERGENCY),
    ("hip fracture", "slid off", "slid off the bed onto the floor and now the leg won't work", EMERGENCY),
    ("hip fracture", "keeled over", "Dad keeled over in the garden and he can't stand, he's 84", EMERGENCY),
    ("hip fracture", "hardly walk, groin", "I fell two days ago, the groin pain is worse and I can hardly walk",
     EMERGENCY),
    ("hip fracture", "foot turned out", "missed the bottom step and went down hard, now my foot is pointing "
                                        "outwards", EMERGENCY),
    ("hip fracture", "osteoporosis, US", "I have osteoporosis, slipped on the bathroom floor and my leg is "
                                         "rolled out and shorter", EMERGENCY),
    ("hip fracture", "walked fine", "I fell over last week but got straight up and walked home", QUIET),
    ("hip fracture", "fear of falling", "I'm afraid I'll fall and not be able to get up, which balance "
                                        "exercises help?", QUIET),
    ("hip fracture", "past, healed", "years ago I fell and couldn't walk for weeks, the hip healed fine", QUIET),
    ("hip fracture", "someone else", "my mum fell last year and broke her hip, she's recovered well. Can I "
                                     "prevent that?", QUIET),
    ("hip fracture", "no fall", "I can't stand for long at the sink because of my hip, no falls", QUIET),
    # ---- stroke: FAST in every register (NICE NG128; AHA BE-FAST) ----
    ("stroke", "not making sense", "Dad isn't making any sense and his mouth has slipped on one side", EMERGENCY),
    ("stroke", "vision, this morning", "I've lost the sight in one eye this morning, like a curtain came down",
     EMERGENCY),
    ("stroke", "arm and leg, words", "my right arm and leg went weak this afternoon and I'm struggling to get "
                                     "my words out", EMERGENCY),
    ("stroke", "droopy eye, woke", "he woke up with a droopy eye and a weak left hand", EMERGENCY),
    ("stroke", "face on one side", "her face has dropped on one side and she can't smile properly", EMERGENCY),
    ("stroke", "muddled", "my husband suddenly got muddled and his words are all mixed up", EMERGENCY),
    ("stroke", "buried", "I wanted to ask about my hip exercises but my wife is talking gibberish since "
                         "lunch and her arm looks floppy", EMERGENCY),
    ("stroke", "typo", "my wifes face is droopin on one side and shes slurring", EMERGENCY),
    ("stroke", "someone else, past", "my dad had a stroke last year, I'm asking about my own hip", QUIET),
    ("stroke", "idiom, face", "my face dropped when the physio said another six weeks", QUIET),
    ("stroke", "making sense of", "I'm not making sense of the exercise sheet, can you explain clamshells?", QUIET),
    ("stroke", "slow arm weakness", "my arm has been weak since my shoulder op in the spring", QUIET),
    ("stroke", "stroke of luck", "a stroke of luck, the hip is better today", QUIET),
]


def reading_of(text: str) -> Optional[str]:
    reading = NET.triage.read(text)
    level = worst(reading.findings)
    if level in (EMERGENCY, URGENT):
        return level
    return NERVE if reading.nerve_signs else None


@pytest.mark.parametrize("category, context, text, expected", ROWS, ids=[f"{r[0]}: {r[1]}" for r in ROWS])
def test_each_category_in_its_context(category, context, text, expected):
    got, level = reading_of(text), NET.judge(text).assessment.level
    if expected == EMERGENCY:
        assert got == EMERGENCY and level in (EMERGENCY, CONFIRM), (got, level)
    elif expected == NERVE:
        assert got == NERVE and level not in (EMERGENCY, URGENT), (got, level)
    elif expected == QUIET:
        assert got in (None, NERVE) and level is None, (got, level)
    else:
        assert got is None and level is None, (got, level)
