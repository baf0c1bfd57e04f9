"""Free questions: answer, clarify, decline (with the log staff triage), greeting, long replies."""

from __future__ import annotations

import pytest
from aiogram.methods import EditMessageText, SendChatAction

from bot.callbacks import CardCB, MenuAction, MenuCB, PickCB, SourceCB
from bot.store.db import Database
from bot.store.users import QuestionLog
from eligibility.answer import Answer, Assistant
from knowledge.matcher import Decision, Match, Referral
from knowledge.models import Localized
from tests.conftest import ADMIN, Conversation, sent, texts


class Scripted(Assistant):
    """The real assistant, except that `ask` returns a prepared answer."""

    def __init__(self, base: Assistant, answer: Answer) -> None:
        super().__init__(base.kb, today=base.today)
        self.prepared = answer

    def ask(self, query: str, lang: str = "zh", **context: object) -> Answer:
        return self.prepared


async def test_an_answer_is_the_card_with_source_and_buttons(talk: Conversation, db: Database) -> None:
    requests = await talk.send("租海外仓有补贴吗")
    assert isinstance(requests[0], SendChatAction)
    assert requests[0].action == "typing"
    [message] = sent(requests)
    assert "<b>【第10条 海外仓建设和租赁扶持】</b>" in message.text
    assert "原文：「" in message.text
    buttons = talk.buttons()
    assert buttons["📄 政策全文"] == SourceCB(id="m10").pack()
    assert buttons["相关：第5条 跨境电商出口业绩奖励（衡品出海）"] == CardCB(id="m5").pack()
    assert buttons["✅ 资格自测"] == MenuCB(action=MenuAction.CHECK).pack()
    [logged] = await QuestionLog(db).recent()
    assert (logged.text, logged.outcome, logged.top_id, logged.user_id) == (
        "租海外仓有补贴吗",
        "answer",
        "m10",
        1001,
    )
    assert logged.top_score is not None
    assert logged.top_score > 0


async def test_an_answer_with_the_users_figure(talk: Conversation) -> None:
    [text] = texts(await talk.send("出口80万美元能拿多少奖励？"))
    assert "按您提到的 80万美元" in text
    assert "最高10万元" in text


async def test_related_and_source_buttons(talk: Conversation) -> None:
    await talk.send("租海外仓有补贴吗")
    answer = talk.keyboard_message()
    [card] = texts(await talk.press(CardCB(id="m5").pack(), answer))
    assert "第5条 跨境电商出口业绩奖励" in card
    full = texts(await talk.press(SourceCB(id="m10").pack(), answer))
    assert all(len(piece) <= 4096 for piece in full)  # the whole document, split if need be
    assert "<b>衡政发〔2024〕4号 全文</b>" in full[0]
    assert "本政策措施自发布之日起施行，有效期两年。" in "".join(full)


async def test_clarify_offers_one_button_per_candidate(talk: Conversation, db: Database) -> None:
    [text] = texts(await talk.send("培训"))
    assert text.startswith("您是想问")
    buttons = talk.buttons()
    assert len(buttons) >= 2
    assert all(data.startswith("pick:") for data in buttons.values())
    label = next(label for label, data in buttons.items() if data == PickCB(id="m13").pack())
    requests = await talk.press(buttons[label])
    [edit] = [r for r in requests if isinstance(r, EditMessageText)]
    assert "第13条" in edit.text
    assert "原文" in edit.text
    assert "📄 政策全文" in talk.buttons()
    [logged] = await QuestionLog(db).recent(outcome="clarify")
    assert logged.text == "培训"


async def test_decline_with_referral_is_honest_and_logged(talk: Conversation, db: Database) -> None:
    [text] = texts(await talk.send("出口退税怎么办"))
    assert "不在衡政发〔2024〕4号的范围内" in text
    assert text.count("国家税务总局衡阳市税务局") == 1
    assert "市商务局" not in text  # the referral names the right office; no second one
    assert "已记录" in text
    assert set(talk.buttons()) == {"📚 浏览措施", "✅ 资格自测"}
    [logged] = await QuestionLog(db).recent(outcome="decline")
    assert logged.text == "出口退税怎么办"


async def test_decline_without_referral_names_the_bureau(talk: Conversation, assistant: Assistant) -> None:
    decision = Decision("火星移民补贴", "decline", ())
    fake = Scripted(assistant, Answer(decision, "抱歉，没有涉及这个问题。", ()))
    [text] = texts(await talk.send("火星移民补贴", assistant=fake))
    assert "没有涉及" in text
    assert "衡阳市商务局" in text


async def test_greeting_gets_the_introduction(talk: Conversation) -> None:
    [text] = texts(await talk.send("你好"))
    assert "衡政发〔2024〕4号" in text
    assert "/check" in text


async def test_greeting_referral_from_any_matcher(talk: Conversation, assistant: Assistant) -> None:
    referral = Referral("hello", "greeting", Localized(zh="您好", en="Hello"))
    fake = Scripted(assistant, Answer(Decision("hi", "decline", (), referral), "您好", ()))
    [text] = texts(await talk.send("hi", assistant=fake))
    assert "三种用法" in text


async def test_long_answers_are_split_with_the_keyboard_last(
    talk: Conversation, assistant: Assistant
) -> None:
    body = "\n".join(f"第{i}行：" + "跨境电商" * 40 for i in range(60))
    decision = Decision("q", "answer", (Match("m5", 9.0),))
    fake = Scripted(assistant, Answer(decision, "【长答案】\n" + body, ("m5",)))
    messages = sent(await talk.send("q", assistant=fake))
    assert len(messages) >= 3
    assert all(len(m.text) <= 4096 for m in messages)
    assert [m.reply_markup is not None for m in messages] == [False] * (len(messages) - 1) + [True]
    assert "".join(m.text for m in messages).count("第59行") == 1


async def test_user_text_is_escaped_where_echoed(talk: Conversation, dp: object) -> None:
    await talk.send("<b>火星</b> & 移民 <script>")
    talk.user = talk.user.model_copy(update={"id": ADMIN})
    [text] = texts(await talk.send("/unanswered"))
    assert "&lt;b&gt;火星&lt;/b&gt; &amp; 移民 &lt;script&gt;" in text


async def test_unanswered_is_for_staff_only(talk: Conversation) -> None:
    [text] = texts(await talk.send("/unanswered"))
    assert "没有这个命令" in text


async def test_english_question_gets_an_english_answer(talk: Conversation) -> None:
    talk.user = talk.user.model_copy(update={"language_code": "en"})
    [text] = texts(await talk.send("What support is there for overseas warehouses?"))
    assert "Measure 10" in text
    assert "Source text (Chinese original)" in text
    assert "📄 Full text (Chinese)" in talk.buttons()


async def test_stale_pick_and_source(talk: Conversation) -> None:
    await talk.send("培训")
    for data in (PickCB(id="m99").pack(), SourceCB(id="nope").pack()):
        requests = await talk.press(data)
        assert not sent(requests)
        assert requests[-1].show_alert is True  # type: ignore[attr-defined]


async def test_unanswered_when_there_is_none(talk: Conversation) -> None:
    talk.user = talk.user.model_copy(update={"id": ADMIN})
    [text] = texts(await talk.send("/unanswered"))
    assert "暂无" in text


class Broken(Assistant):
    def ask(self, query: str, lang: str = "zh", **context: object) -> Answer:
        raise RuntimeError("matcher exploded")


async def test_a_failing_handler_tells_the_user(
    talk: Conversation, assistant: Assistant, caplog: pytest.LogCaptureFixture
) -> None:
    broken = Broken(assistant.kb, today=assistant.today)
    [text] = texts(await talk.send("海外仓", assistant=broken))
    assert "出了点问题" in text
    assert "matcher exploded" in caplog.text


async def test_a_question_in_english_is_answered_in_english(talk: Conversation) -> None:
    [reply] = texts(await talk.send("Do you subsidise overseas warehouse rent?"))
    assert "Measure 10" in reply
    assert "Responsible units" in reply
