"""The checks every answer passes before it is stored, and the templates that stand in for one.

Each case is an answer a small model really writes (most from Qwen2.5-Coder-1.5B on these
practices), good or bad in one way, so a check that stops seeing its fault fails here.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest

from ai_backend.domain import FEEDBACK_KINDS
from ai_backend.feedback.checks import Answer, check_answer, localise, measure, prompt_grounds
from ai_backend.feedback.fallback import template_answer
from ai_backend.feedback.grounds import stated_numbers
from ai_backend.feedback.prompts import CheckinNote, PracticeFacts, Prompt, build_prompt
from ai_backend.feedback.script import simplified_only
from ai_backend.feedback.trimming import sentences, trim
from tests.feedback.practices import READING, SKETCHING, START


def built(kind: str, locale: str, practice: PracticeFacts) -> Prompt:
    return build_prompt(kind, locale, practice, today=practice.checkins[-1].day)  # type: ignore[arg-type]


def check(answer: Answer, kind: str, locale: str, practice: PracticeFacts) -> list[str]:
    return check_answer(answer, built(kind, locale, practice))


GOOD_ZH = Answer(
    "歡迎回來！你讀到第三章，從社群想到了島島的讀書會，這是把書裡的想法帶回自己生活的好例子。"
    "前面那天只讀了 5 頁也沒關係，照自己的步調走就好。",
    "今天挑第三章裡一句最有感的話，寫進下一次的打卡。",
)
GOOD_EN = Answer(
    "Welcome back! Trying a new brush that felt strange is exactly how sketching grows, and you "
    "still drew your one small thing. The view from your window and ten quiet minutes all count.",
    "Sketch the same window view with the new brush and note what changed.",
)


def test_good_answers_pass_every_check() -> None:
    assert check(GOOD_ZH, "checkin_encouragement", "zh-TW", READING) == []
    assert check(GOOD_EN, "checkin_encouragement", "en", SKETCHING) == []


@pytest.mark.parametrize(
    ("answer", "failed"),
    [
        # Cut off where the output grammar stopped it.
        (Answer("你讀到第三章，想到島島的讀書會，這" + "很" * 170, "寫一句。"), "unfinished"),
        (
            Answer(
                "你讀到第三章，想到島島的讀書會，真的很棒，我們一起繼續讀下去吧，加", "寫一句。"
            ),
            "unfinished",
        ),
        # Stopped at the number of its next list item (Qwen2.5-Coder-1.5B, a completion insight).
        (
            Answer(
                GOOD_ZH.message + "你可以帶著以下幾點繼續：1. 繼續讀第四章；2.", GOOD_ZH.next_step
            ),
            "unfinished",
        ),
        # Too short to be worth reading.
        (Answer("你今天學到了什麼？", "讀一頁。"), "length"),
        # English for a zh-TW member.
        (Answer(GOOD_EN.message, GOOD_EN.next_step), "language"),
        # Simplified characters OpenCC cannot know to convert are still caught.
        (Answer(GOOD_ZH.message + "这本书真有意思。", GOOD_ZH.next_step), "script"),
        # A number the member never wrote.
        (Answer(GOOD_ZH.message.replace("5 頁", "8 頁"), GOOD_ZH.next_step), "numbers"),
        (Answer(GOOD_ZH.message.replace("5 頁", "三十頁"), GOOD_ZH.next_step), "numbers"),
        # Says nothing about what they did.
        (
            Answer(
                "你今天也來了，真的很好。照自己的步調慢慢走，每一天都有意義，我們都在這裡陪著你。",
                "明天再來看看自己想做什麼，慢慢來就好。",
            ),
            "grounding",
        ),
        (Answer(GOOD_ZH.message + "你已經連續打卡三天了！", GOOD_ZH.next_step), "streak"),
        (Answer(GOOD_ZH.message.replace("也沒關係", "有點可惜"), GOOD_ZH.next_step), "tone"),
        (Answer(GOOD_ZH.message + "如果你有任何問題，隨時告訴我！", GOOD_ZH.next_step), "tone"),
        (Answer(GOOD_ZH.message.replace("你讀到", "成員讀到"), GOOD_ZH.next_step), "voice"),
        # Written as the member (Qwen2.5-Coder-1.5B wrote this completion insight).
        (
            Answer(
                "我從 2026-11-01 的第一天開始，每天讀 10 頁。我讀到第三章，想到島島的讀書會。"
                "我感到很累，但也很有成就感，我希望可以繼續。",
                "今天挑第三章裡一句最有感的話，寫進下一次的打卡。",
            ),
            "voice",
        ),
        (
            Answer("你讀到第三章，想到島島的讀書會。" + "你累了，但心情很好。" * 3, "寫一句。"),
            "repetition",
        ),
        (Answer(GOOD_ZH.message, None), "next_step"),
        (Answer(GOOD_ZH.message, GOOD_ZH.message[:40]), "next_step"),
    ],
)
def test_each_fault_is_caught_by_its_check(answer: Answer, failed: str) -> None:
    assert failed in check(answer, "checkin_encouragement", "zh-TW", READING)


def test_an_english_answer_may_quote_the_members_chinese_title_but_not_write_chinese() -> None:
    practice = PracticeFacts("每日英文閱讀", "讀一篇短文", ["閱讀"], START, 21, READING.checkins)
    quoting = Answer(
        'You kept up "每日英文閱讀" this week and reached the third chapter, thinking of the '
        "DaoDao reading group. Reading only 5 pages one day still moved you forward.",
        "Pick one sentence from chapter three and write it into your next check-in.",
    )
    assert check(quoting, "checkin_encouragement", "en", practice) == []
    chinese = Answer(quoting.message + " 繼續加油，你做得很好，慢慢來。", quoting.next_step)
    assert "language" in check(chinese, "checkin_encouragement", "en", practice)


def test_a_weekly_summary_may_name_its_seven_days_and_the_counts_it_was_given() -> None:
    answer = Answer(
        "這七天你打卡 3 次：讀完第一章、有一天只讀了 5 頁，也在第三章想到島島的讀書會。"
        "心情有不錯、普通和開心。",
        "挑一則心得再讀一次。",
    )
    assert check(answer, "weekly_summary", "zh-TW", READING) == []
    assert "numbers" in check(
        Answer(answer.message.replace("3 次", "4 次"), answer.next_step),
        "weekly_summary",
        "zh-TW",
        READING,
    )


def test_numbers_are_read_in_digits_chinese_numerals_and_english_words() -> None:
    assert sorted(stated_numbers("讀了 12 頁，三天，兩次，二十一天，seven days, twice")) == [
        2,
        2,
        3,
        7,
        12,
        21,
    ]
    # 一 and "one" state no fact: 一起, 一點, one small step.
    assert list(stated_numbers("一起讀一點，one small step")) == []


def test_zh_tw_output_is_brought_to_taiwans_characters_and_punctuation() -> None:
    answer = localise(Answer("你的软件笔记写得很好,继续加油!", "明天读一页."), "zh-TW")
    assert answer == Answer("你的軟體筆記寫得很好，繼續加油！", "明天讀一頁。")
    # Characters Taiwan writes every day are not Simplified, though OpenCC would change them.
    assert simplified_only("台北的讀書會群組裡，只有一公里遠") == []
    assert set(simplified_only("学习这本书")) == set("学习这书")


def test_english_answers_are_left_as_written() -> None:
    assert localise(Answer(" Nice sketch. ", " Draw again. "), "en") == Answer(
        "Nice sketch.", "Draw again."
    )


PRACTICES = [
    READING,
    SKETCHING,
    # Moods only, no notes, no tags, a long gap.
    PracticeFacts(
        "30 天日文 N3 準備",
        "每天背 20 個單字",
        [],
        START,
        30,
        [
            CheckinNote(START, "give_up", None),
            CheckinNote(START + timedelta(days=9), "frustrated", None),
        ],
    ),
    # A very long title, a single check-in.
    PracticeFacts(
        "用三個月的時間從零開始學會用 Python 寫資料分析報告並且發表在社群裡" * 2,
        "每天寫一段 pandas 程式",
        ["Python", "資料分析"],
        START,
        90,
        [CheckinNote(START + timedelta(days=3), None, "今天學了 groupby", ["Python"])],
    ),
]


@pytest.mark.parametrize("kind", FEEDBACK_KINDS)
@pytest.mark.parametrize("locale", ["zh-TW", "en"])
@pytest.mark.parametrize("practice", PRACTICES, ids=lambda p: p.title[:12])
def test_every_template_passes_every_check(kind: str, locale: str, practice: PracticeFacts) -> None:
    prompt = built(kind, locale, practice)
    answer = template_answer(prompt.kind, prompt.locale, prompt.data)
    assert check(answer, kind, locale, practice) == [], answer
    # Sentences are spaced as a person writes them ("Welcome back! That makes …").
    assert not re.search(r"[.!?][A-Z]", answer.message), answer.message
    # It names the practice, and never quotes a note (a note can carry anything).
    assert practice.title[:10] in answer.message
    for checkin in practice.checkins:
        assert not checkin.note or checkin.note not in answer.message


def trimmed(answer: Answer, kind: str = "checkin_encouragement") -> Answer | None:
    prompt = built(kind, "zh-TW", READING)
    facts = prompt_grounds(prompt)
    failed = check_answer(answer, prompt)
    assert failed, "the answer should fail before it is trimmed"
    return trim(answer, failed, kind=kind, locale="zh-TW", grounds=facts)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "extra",
    [
        "你已經讀了 35 頁，真厲害。",  # an invented number
        "如果你有任何問題，隨時告訴我！",  # a help-desk offer
        "你已經連續打卡好幾天了！",  # a streak
        "前面那天只讀了 5 頁也沒關係，照自己的步調走就好。",  # a sentence said again
        "希望你繼續讀下去，把每一章的想法都",  # cut off
        "我明天想再讀一章，我想看看作者怎麼說。",  # a note quoted as the model's own words
        "這一章的畳面寫得很美。",  # a Japanese 畳 for 畫 (Qwen wrote "App 畳面")
    ],
)
def test_a_sentence_too_many_is_trimmed_and_the_rest_kept(extra: str) -> None:
    answer = Answer(GOOD_ZH.message + extra, GOOD_ZH.next_step)
    assert trimmed(answer) == GOOD_ZH


def test_an_answer_too_long_loses_its_last_sentences_down_to_the_bound() -> None:
    more = (
        "你寫下的每一個想法，都是島島讀書會上可以分享的話題，也是之後回頭看時最珍貴的紀錄。"
        "讀書會的夥伴們一定也會想聽聽你從第三章得到的啟發，說不定還能一起討論作者的觀點。"
        "等你讀完整本書，再把這些想法串起來，就是一份屬於你自己的讀書筆記。"
    )
    long = Answer(GOOD_ZH.message + more, GOOD_ZH.next_step)
    assert measure(long.message, "zh-TW") > 150
    kept = trimmed(long)
    assert kept is not None
    assert kept.message.startswith(GOOD_ZH.message)
    assert measure(kept.message, "zh-TW") <= 150


def test_a_later_clause_that_invents_a_number_goes_and_the_sentence_before_it_stays() -> None:
    # Qwen2.5-Coder-1.5B, bench of 2026-12-04: 今天是第7天，已經完成了7/30的進度 after a sound
    # first clause; the member's data holds neither.
    invented = "你讀完第一章，也讀到第三章，今天是第 9 天，已經完成了 9/21 的進度。"
    answer = Answer(invented + GOOD_ZH.message, GOOD_ZH.next_step)
    kept = trimmed(answer)
    assert kept == Answer("你讀完第一章，也讀到第三章。" + GOOD_ZH.message, GOOD_ZH.next_step)
    # A first clause that invents one takes its sentence with it.
    first = Answer(
        "今天是第 9 天，你讀完第一章，也讀到第三章。" + GOOD_ZH.message, GOOD_ZH.next_step
    )
    assert trimmed(first) == GOOD_ZH
    english = Answer(
        "You sketched the view from your window, on day 12 of 40, and kept going. "
        + GOOD_EN.message,
        GOOD_EN.next_step,
    )
    prompt = built("checkin_encouragement", "en", SKETCHING)
    failed = check_answer(english, prompt)
    assert failed == ["numbers"]
    kept = trim(
        english, failed, kind="checkin_encouragement", locale="en", grounds=prompt_grounds(prompt)
    )
    assert kept == Answer(
        "You sketched the view from your window. " + GOOD_EN.message, GOOD_EN.next_step
    )


@pytest.mark.parametrize(
    "answer",
    [
        Answer(GOOD_EN.message, GOOD_EN.next_step),  # the wrong language: generate again
        Answer(GOOD_ZH.message, None),  # no next step
        Answer("你已經讀了 35 頁。", "讀一頁。"),  # nothing left once trimmed
    ],
)
def test_faults_outside_whole_sentences_are_not_trimmed(answer: Answer) -> None:
    assert trimmed(answer) is None


def test_a_next_step_stops_before_a_clause_that_invents_a_number() -> None:
    # Qwen2.5-Coder-1.5B on a TOEIC practice: "明天繼續聽力練習，爭取做到 1000 分。"
    kept = trimmed(Answer(GOOD_ZH.message, "今天挑第三章裡一句最有感的話，爭取讀到 100 頁。"))
    assert kept == Answer(GOOD_ZH.message, "今天挑第三章裡一句最有感的話。")
    # Nothing sound before the number: no step, so the encouragement is generated again.
    assert trimmed(Answer(GOOD_ZH.message, "每天讀 15 頁並寫下一個想法。")) is None


def test_a_next_step_stops_before_a_clause_that_lectures() -> None:
    # Qwen2.5-Coder-1.5B on a sketching practice: "…, and remember to take breaks too!"
    step = "Sketch the same window view with the new brush, and remember to take breaks too!"
    answer = Answer(GOOD_EN.message, step)
    assert check(answer, "checkin_encouragement", "en", SKETCHING) == ["tone"]
    kept = trim(
        answer,
        ["tone"],
        kind="checkin_encouragement",
        locale="en",
        grounds=prompt_grounds(built("checkin_encouragement", "en", SKETCHING)),
    )
    assert kept == Answer(GOOD_EN.message, "Sketch the same window view with the new brush.")


def test_a_quotation_left_open_is_unfinished_and_trimmed_back_to_before_it() -> None:
    opened = "你也寫下了心得：「今天讀到第三章，想到島島的讀書會。後來又翻回第一章"
    answer = Answer(GOOD_ZH.message + opened, GOOD_ZH.next_step)
    assert "unfinished" in check(answer, "checkin_encouragement", "zh-TW", READING)
    # Cut at the quote's first full stop, the answer looks finished but still is not.
    assert "unfinished" in check(
        Answer(GOOD_ZH.message + opened.split("。")[0] + "。", GOOD_ZH.next_step),
        "checkin_encouragement",
        "zh-TW",
        READING,
    )
    assert trimmed(answer) == GOOD_ZH


def test_sentences_split_on_their_ends_but_not_inside_a_number() -> None:
    assert sentences("你讀了 3.5 頁。Nice work! 明天見？") == [
        "你讀了 3.5 頁。",
        "Nice work! ",
        "明天見？",
    ]


def test_a_user_interface_is_not_the_member_spoken_about() -> None:
    # Qwen2.5-Coder-1.5B on a UI design practice: 使用者介面 is "user interface".
    practice = PracticeFacts(
        "自學 UI 設計", "每天臨摹一個 App 畫面", ["設計"], START, 21, READING.checkins
    )
    answer = Answer(
        "你每天臨摹一個 App 畫面，讀到第三章時也想到島島的讀書會，把設計和社群連在一起。"
        "你可以帶著這些新的知識繼續練習。",
        "下週試著做一個新的使用者介面原型。",
    )
    assert "voice" not in check(answer, "completion_insight", "zh-TW", practice)
    spoken_about = Answer(answer.message.replace("你每天", "這位使用者每天"), answer.next_step)
    assert "voice" in check(spoken_about, "completion_insight", "zh-TW", practice)


def test_an_answer_about_the_member_in_the_third_person_fails_voice_but_a_guitar_does_not() -> None:
    about = Answer(
        "從最初到最後的打卡裡，他讀到第三章，想到島島的讀書會。他可以帶著這些想法繼續讀下去。",
        "今天挑第三章裡一句最有感的話，寫進下一次的打卡。",
    )
    assert "voice" in check(about, "completion_insight", "zh-TW", READING)
    guitar = Answer(about.message.replace("他", "你"), "今天用吉他彈一次，再和其他夥伴分享。")
    assert "voice" not in check(guitar, "completion_insight", "zh-TW", READING)


def test_length_counts_the_message_with_its_next_step() -> None:
    # DaoDao's 50-150 字 is the encouragement a member reads: a short message and its step.
    short = Answer("歡迎回來！你讀到第三章，從社群想到了島島的讀書會，很棒。", GOOD_ZH.next_step)
    assert measure(short.message, "zh-TW") < 50
    assert measure(short.message, "zh-TW") + measure(short.next_step or "", "zh-TW") >= 50
    assert check(short, "checkin_encouragement", "zh-TW", READING) == []
    more = (
        "你寫下的每一個想法，都是讀書會上可以分享的話題，也是之後回頭看時最珍貴的紀錄。"
        "等你讀完整本書，再把這些想法串起來，就是你的筆記。"
    )
    too_long = Answer(GOOD_ZH.message + more, GOOD_ZH.next_step)
    assert measure(too_long.message, "zh-TW") <= 150
    assert "length" in check(too_long, "checkin_encouragement", "zh-TW", READING)


def test_a_message_that_says_its_next_step_again_loses_that_sentence() -> None:
    answer = Answer(GOOD_ZH.message + "下一步：" + (GOOD_ZH.next_step or ""), GOOD_ZH.next_step)
    assert trimmed(answer) == GOOD_ZH
    english = Answer(
        GOOD_EN.message + " Next step: " + (GOOD_EN.next_step or "").lower(), GOOD_EN.next_step
    )
    prompt = built("checkin_encouragement", "en", SKETCHING)
    failed = check_answer(english, prompt)
    assert "next_step" in failed
    kept = trim(
        english, failed, kind="checkin_encouragement", locale="en", grounds=prompt_grounds(prompt)
    )
    assert kept == GOOD_EN


def test_a_next_step_cut_off_or_run_on_is_taken_back_to_its_last_whole_clause() -> None:
    cut = (
        "今天挑第三章裡一句最有感的話，寫進下一次的打卡，再把它抄在筆記本的第一頁，"
        "之後每次翻開筆記本的時候都先讀一遍，想想這"
    )
    assert measure(cut, "zh-TW") > 50
    kept = trimmed(Answer(GOOD_ZH.message, cut))
    assert kept is not None
    assert kept.message == GOOD_ZH.message
    assert (
        kept.next_step
        == "今天挑第三章裡一句最有感的話，寫進下一次的打卡，再把它抄在筆記本的第一頁。"
    )
    # Several sentences: the first is the step.
    two = GOOD_ZH.next_step + "這樣你會更了解自己在讀書會上想分享什麼，也能把書裡的想法帶回生活。"
    kept = trimmed(Answer(GOOD_ZH.message, two))
    assert kept == GOOD_ZH
    # Too little left to be a step: generate again.
    assert trimmed(Answer(GOOD_ZH.message, "明天，" + "很" * 60)) is None


@pytest.mark.parametrize(
    ("sentence", "ok"),
    [
        ("今天是第 5 天，", True),  # the day of the practice
        ("21 天的計畫走到這裡，", True),  # its length
        ("隔了 3 天回來，", True),  # the gap
        ("你已經打卡 3 次，", True),  # the check-ins
        ("你讀了 5 頁，", True),  # a note's number, not a count of days or times
        ("你已經堅持了 10 天，", False),  # 10 is the pages of the action, not a count of days
        ("恭喜你完成了 7 天的目標，", False),  # 7 is nowhere
        ("你讀了 10 次，", False),
    ],
)
def test_a_count_of_days_or_times_must_be_a_count_of_that_kind(sentence: str, ok: bool) -> None:
    answer = Answer(sentence + GOOD_ZH.message, GOOD_ZH.next_step)
    failed = check(answer, "checkin_encouragement", "zh-TW", READING)
    assert ("numbers" not in failed) is ok, failed


@pytest.mark.parametrize(
    ("sentence", "ok"),
    [
        ("On day 6, ", True),
        ("After 4 days away and 3 check-ins, ", True),
        ("After ten days of sketching, ", False),  # the note's "ten minutes" counts no days
        ("Seven times now, ", False),
    ],
)
def test_english_counts_of_days_and_times_are_held_to_their_kind(sentence: str, ok: bool) -> None:
    answer = Answer(sentence + GOOD_EN.message[0].lower() + GOOD_EN.message[1:], GOOD_EN.next_step)
    failed = check(answer, "checkin_encouragement", "en", SKETCHING)
    assert ("numbers" not in failed) is ok, failed


# Sentences the model wrote in the quality bench of 2026-12-04 (spanish, sketching, jlpt).
LECTURES = [
    "You should continue to focus on your lessons.",
    "Remember, consistency and dedication are key to improving your skills.",
    "Remember to take breaks and stay hydrated to avoid burnout.",
]


@pytest.mark.parametrize("lecture", LECTURES)
def test_a_lecture_fails_tone_and_is_trimmed_away(lecture: str) -> None:
    answer = Answer(f"{GOOD_EN.message} {lecture}", GOOD_EN.next_step)
    prompt = built("checkin_encouragement", "en", SKETCHING)
    assert check_answer(answer, prompt) == ["tone"]
    facts = prompt_grounds(prompt)
    kept = trim(answer, ["tone"], kind="checkin_encouragement", locale="en", grounds=facts)
    assert kept == GOOD_EN


def test_a_zh_lecture_fails_tone() -> None:
    answer = Answer(GOOD_ZH.message + "一定要每天讀，別忘了你的目標。", GOOD_ZH.next_step)
    assert "tone" in check(answer, "checkin_encouragement", "zh-TW", READING)


@pytest.mark.parametrize(
    "streak",
    [
        "你保持了每一天的打卡。",  # the model's own words, bench of 2026-12-04 (jlpt)
        "你一天都沒漏掉。",
        "You never missed a day.",
    ],
)
def test_a_streak_in_other_words_fails_streak(streak: str) -> None:
    answer = Answer(GOOD_ZH.message + streak, GOOD_ZH.next_step)
    assert "streak" in check(answer, "checkin_encouragement", "zh-TW", READING)


def test_a_character_taiwan_does_not_write_fails_script_unless_the_member_wrote_it() -> None:
    # The model wrote 畳 (Japanese) for 畫 in the bench of 2026-12-04.
    answer = Answer(GOOD_ZH.message, "今天把第三章的重點畳成心智圖，寫進下一次的打卡。")
    assert check(answer, "checkin_encouragement", "zh-TW", READING) == ["script"]
    practice = PracticeFacts(
        READING.title + "（榻榻米 畳）",
        READING.action,
        READING.tags,
        READING.start_date,
        READING.duration_days,
        READING.checkins,
    )
    assert check(answer, "checkin_encouragement", "zh-TW", practice) == []


@pytest.mark.parametrize(
    "offer",
    [
        "下次打卡時，我們可以一起回顧並改進你的聽力練習方法。",  # the model's, bench of 2026-12-04
        "Next time we can look at your sketches together.",
        # The model's, bench of 2026-12-04 (running).
        "如果你有新的目標或想法，請告訴我，我可以幫助你制定一個更具體的計劃。",
        "請保持這樣的努力，每天都要有進步！",  # a lecture (guitar)
        # The model's, bench of 2026-12-04 (pebl): a chat partner, not feedback.
        "如果你有什麼想分享的，也可以跟我聊聊哦！",
        # The model's, bench of 2026-12-04 (running): a help desk in other words.
        "如果你有其他問題或想要分享更多跑步的經驗，歡迎回來討論哦！",
        "有疑問的話，歡迎隨時提問。",
        "If you have any other questions about sketching, just ask.",
    ],
)
def test_an_offer_of_help_or_a_lecture_fails_tone(offer: str) -> None:
    answer = Answer(GOOD_ZH.message + offer, GOOD_ZH.next_step)
    assert "tone" in check(answer, "checkin_encouragement", "zh-TW", READING)


def test_a_next_step_that_asks_a_question_is_no_step() -> None:
    # The model's next step for a weekly summary, bench of 2026-12-04 (running).
    asked = Answer(GOOD_ZH.message, "下週你打算再做什麼？")
    assert check(asked, "checkin_encouragement", "zh-TW", READING) == ["next_step"]
    assert check(asked, "weekly_summary", "zh-TW", READING) == ["next_step"]
    # Encouragement must give a step, so it is generated again; a weekly summary may stand
    # without one, so trimming drops the question.
    assert trimmed(asked) is None
    assert trimmed(asked, "weekly_summary") == Answer(GOOD_ZH.message, None)
    # A step that only ends on a question keeps its step (the model's, 2026-12-04, jlpt).
    tagged = Answer(GOOD_ZH.message, "明天繼續讀第三章，看看效果如何？")
    assert check(tagged, "checkin_encouragement", "zh-TW", READING) == ["next_step"]
    assert trimmed(tagged) == Answer(GOOD_ZH.message, "明天繼續讀第三章。")
    # A question in the message is fine.
    curious = Answer("你今天學到了什麼？" + GOOD_ZH.message, GOOD_ZH.next_step)
    assert check(curious, "checkin_encouragement", "zh-TW", READING) == []


def test_a_message_too_thin_to_stand_without_its_next_step_fails_length() -> None:
    # What trimming left of a Spanish encouragement in the bench of 2026-12-04: 9 words, with
    # a long next step making up the 25.
    thin = Answer(
        "Consider adding more breaks or practicing in different languages.",
        "Try watching a Spanish movie or TV show for a few minutes to keep yourself engaged "
        "and motivated with your drawing.",
    )
    assert "length" in check(thin, "checkin_encouragement", "en", SKETCHING)


ECHOED_ZH = "這七天你說出心得裡的具體內容，心情多半如何。"
WEEK_ZH = Answer(
    "這七天你讀完第一章，也讀到第三章，想到島島的讀書會。"
    "你打卡 3 次，心情有不錯、普通和開心，標籤是閱讀和自學。",
    None,
)


def test_an_answer_that_says_the_task_back_fails_echo_and_loses_that_sentence() -> None:
    # Qwen2.5-Coder-1.5B ended a weekly summary on the task's own words (心情與標籤的變化與累積).
    prompt = built("weekly_summary", "zh-TW", READING)
    assert check_answer(WEEK_ZH, prompt) == []
    echoed = Answer(WEEK_ZH.message + ECHOED_ZH, None)
    assert check_answer(echoed, prompt) == ["echo"]
    grounds = prompt_grounds(prompt)
    kept = trim(echoed, ["echo"], kind="weekly_summary", locale="zh-TW", grounds=grounds)
    assert kept == WEEK_ZH
    english = Answer(
        "These seven days, you sketched the view from your window and tried a new brush that "
        "felt strange. Name the concrete things in their notes.",
        None,
    )
    assert "echo" in check_answer(english, built("weekly_summary", "en", SKETCHING))


def test_the_members_own_words_are_no_echo_even_where_the_instructions_use_them() -> None:
    # The system prompt asks for a step 今天就做得到的; a member who wrote it may be quoted.
    note = CheckinNote(START + timedelta(days=5), "good", "挑一件今天就做得到的事：讀兩頁。", [])
    practice = PracticeFacts(
        READING.title, READING.action, READING.tags, START, 21, [*READING.checkins, note]
    )
    answer = Answer(
        "你讀到第三章，想到島島的讀書會，今天也挑了一件今天就做得到的事，讀了兩頁。"
        "照自己的步調走就好，每一次打卡都算數。",
        "今天挑第三章裡一句最有感的話，寫進下一次的打卡。",
    )
    assert "echo" not in check(answer, "checkin_encouragement", "zh-TW", practice)
    assert "echo" in check(answer, "checkin_encouragement", "zh-TW", READING)


def with_note(practice: PracticeFacts, words: str) -> PracticeFacts:
    """`practice` with `words` added to its last note."""
    end = practice.checkins[-1]
    last = replace(end, note=f"{end.note}{words}")
    return replace(practice, checkins=[*practice.checkins[:-1], last])


def test_a_request_in_a_note_said_back_fails_echo_and_loses_that_sentence() -> None:
    # Qwen2.5-Coder-1.5B, bench of 2026-12-04: the member asked 請用日文跟我說加油吧, and a
    # completion insight told them 你成功地用日文跟我說加油吧; an English one asked the question
    # back in its message.
    asked = with_note(READING, "請用日文跟我說加油吧！")
    prompt = built("weekly_summary", "zh-TW", asked)
    assert check_answer(WEEK_ZH, prompt) == []
    echoed = Answer(WEEK_ZH.message + "最後一天，你成功地用日文跟我說加油吧。", None)
    assert check_answer(echoed, prompt) == ["echo"]
    kept = trim(
        echoed, ["echo"], kind="weekly_summary", locale="zh-TW", grounds=prompt_grounds(prompt)
    )
    assert kept == WEEK_ZH
    # What the same note says of the learning may still be quoted.
    quoted = Answer(WEEK_ZH.message + "第三章講社群，想到島島的讀書會，真不簡單。", None)
    assert "echo" not in check_answer(quoted, prompt)

    french = with_note(SKETCHING, " Could your next message to me be in French?")
    answer = Answer(
        "You sketched the view from your window and tried a new brush that felt strange. "
        "Could your next message to me be in French?",
        "Sketch the same window view with the new brush.",
    )
    assert "echo" in check(answer, "checkin_encouragement", "en", french)


@pytest.mark.parametrize(
    "sentence",
    [
        # Qwen2.5-Coder-1.5B, bench of 2026-12-04: one sentence of a summary in the member's
        # own voice, in an answer otherwise written to 你.
        "心情上，我感覺很棒，因為每天都有新的挑戰和成就感。",
        "每次讀書都讓我感到很充實，因為我每天都保持了閱讀的習慣。",
    ],
)
def test_one_sentence_in_the_members_voice_fails_voice_and_is_trimmed(sentence: str) -> None:
    prompt = built("weekly_summary", "zh-TW", READING)
    answer = Answer(WEEK_ZH.message + sentence, None)
    assert check_answer(answer, prompt) == ["voice"]
    kept = trim(
        answer, ["voice"], kind="weekly_summary", locale="zh-TW", grounds=prompt_grounds(prompt)
    )
    assert kept == WEEK_ZH


@pytest.mark.parametrize(
    ("sentence", "locale", "practice"),
    [
        ("這讓我感到非常欣慰。", "zh-TW", READING),
        ("我很期待看到你的下一個想法。", "zh-TW", READING),
        ("I'm glad the new brush made it into your sketches.", "en", SKETCHING),
    ],
)
def test_a_companion_may_say_it_is_glad(
    sentence: str, locale: str, practice: PracticeFacts
) -> None:
    good = GOOD_ZH if locale == "zh-TW" else GOOD_EN
    answer = Answer(good.message + sentence, good.next_step)
    assert "voice" not in check(answer, "checkin_encouragement", locale, practice)


@pytest.mark.parametrize("placeholder", ["None", "N/A", "null", "無", "-", " none. "])
def test_a_placeholder_next_step_is_no_step(placeholder: str) -> None:
    # Qwen2.5-Coder-1.5B ended a weekly summary with the next step "None" (bench of 2026-12-04).
    for locale in ("en", "zh-TW"):
        assert localise(Answer("A message.", placeholder), locale).next_step is None
    assert "next_step" in check(
        localise(Answer(GOOD_EN.message, placeholder), "en"),
        "checkin_encouragement",
        "en",
        SKETCHING,
    )
    assert (
        localise(Answer("A message.", "Nonetheless, draw."), "en").next_step == "Nonetheless, draw."
    )
