"""/check: the eligibility interview through the dispatcher, to its result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.methods import EditMessageText, SendMessage

from bot.callbacks import CardCB, StepAction, StepCB
from bot.config import Settings
from bot.factory import create_dispatcher
from bot.interview.states import InterviewStates
from bot.store.db import open_database
from eligibility.answer import Assistant
from tests.conftest import USER, Conversation, MockedSession, callback_answers, sent, texts

# An exporter with USD 1.2 million of exports and 30,000 yuan of platform fees; "no" to the rest.
EXPORTER: dict[str, Any] = {
    "registered_in_hengyang": True,
    "pays_tax_in_hengyang": True,
    "independent_legal_person": True,
    "cbec_in_customs_stats": True,
    "cbec_export_usd": "120万美元",
    "platform_promotion_fees_cny": "3万",
}


def current_step(talk: Conversation) -> list[StepCB]:
    """The latest question's interview buttons; empty once the result is shown."""
    return [StepCB.unpack(d) for d in talk.buttons().values() if d.startswith("iv:")]


def current_fact(talk: Conversation) -> str | None:
    """The fact the latest question asks (from its buttons), None once the result is shown."""
    step = current_step(talk)
    return step[0].fact if step else None


async def answer(talk: Conversation, fact: str, value: Any) -> list[Any]:
    if value is True or value is False:
        return await talk.press(StepCB(action=StepAction.YES if value else StepAction.NO, fact=fact).pack())
    return await talk.send(str(value))


async def tick(talk: Conversation, profile: dict[str, Any], default: Any) -> None:
    """A checklist: tick the lines the profile says yes to, then press Done."""
    step = current_step(talk)
    for button in [b for b in step if b.action == StepAction.TOGGLE]:
        if profile.get(button.fact, default) is True:
            await talk.press(button.pack())
    done = next(b for b in current_step(talk) if b.action == StepAction.DONE)
    await talk.press(done.pack())


async def run_interview(talk: Conversation, profile: dict[str, Any], default: Any = False) -> str:
    """Answer every question from `profile` (yes/no by button or checklist, figures typed);
    returns the result."""
    await talk.send("/check")
    for _ in range(60):
        step = current_step(talk)
        if not step:
            break
        if any(b.action == StepAction.TOGGLE for b in step):
            await tick(talk, profile, default)
            continue
        fact = step[0].fact
        value = profile.get(fact, default)
        if value is False and not talk.buttons().get("否"):
            value = "0"  # a figure question: none
        await answer(talk, fact, value)
    else:
        raise AssertionError("the interview did not end")
    return talk.keyboard_message().text or ""


async def test_full_interview_ends_in_a_grouped_result(talk: Conversation) -> None:
    [first] = texts(await talk.send("/check"))
    assert "<b>第 1 题（最多" in first
    assert "贵单位是在衡阳市依法注册的吗？" in first
    assert await talk.state() == InterviewStates.asking.state
    result = await run_interview(talk, EXPORTER)
    assert await talk.state() is None
    assert "资格自测结果" in result
    assert "✅ 可能符合（2 项，合计最高 51.5万元）" in result
    assert "第5条 跨境电商出口业绩奖励（衡品出海）：最高 50万元" in result
    assert "第6条 第三方平台推广费和开店年费补助：最高 1.5万元" in result
    assert "✖ 不符合" in result
    assert "未满足：" in result
    assert "本结果是根据您提供的信息所作的预审，不是审批决定" in result
    assert "择优支持且不重复" in result
    buttons = talk.buttons()
    assert buttons["✅ 第5条"] == CardCB(id="m5").pack()
    assert len([d for d in buttons.values() if d.startswith("card:")]) == 16
    [card] = texts(await talk.press(buttons["✅ 第5条"]))
    assert "【第5条" in card


async def test_progress_counts_down_the_maximum(talk: Conversation) -> None:
    await talk.send("/check")
    await answer(talk, "registered_in_hengyang", True)
    [question] = [r.text for r in talk.session.requests[-1:] if isinstance(r, SendMessage)]
    assert "第 2 题（最多" in question
    maximum = int(question.split("最多 ")[1].split(" 题")[0])
    await talk.press(StepCB(action=StepAction.YES, fact="pays_tax_in_hengyang").pack())
    await talk.press(StepCB(action=StepAction.YES, fact="independent_legal_person").pack())
    await talk.press(StepCB(action=StepAction.YES, fact="cbec_in_customs_stats").pack())
    await talk.press(StepCB(action=StepAction.DONE, fact=current_fact(talk) or "").pack())  # the checklist
    text = talk.keyboard_message().text or ""
    assert "第 6 题" in text
    assert int(text.split("最多 ")[1].split(" 题")[0]) < maximum


async def test_a_failed_base_condition_ends_at_once(talk: Conversation) -> None:
    await talk.send("/check")
    requests = await answer(talk, "registered_in_hengyang", False)
    [edit] = [r for r in requests if isinstance(r, EditMessageText)]
    assert "→ 否" in edit.text
    assert edit.reply_markup is None
    [result] = texts(sent(requests))  # type: ignore[arg-type]
    assert "暂未发现可能符合的措施" in result
    assert "全部 16 条措施：未满足：在衡阳市依法注册" in result


async def test_typed_yes_no_and_bad_figures(talk: Conversation) -> None:
    await talk.send("/check")
    for word in ("是", "yes", "对", "有"):
        await talk.send(word)
    assert current_fact(talk) == "operates_park"  # the first line of the role checklist
    [reply] = texts(await talk.send("是"))
    assert "请点按钮勾选" in reply
    await talk.send("否")  # none of the checklist applies
    assert current_fact(talk) == "supervision_site_investment_cny"
    [reply] = texts(await talk.send("很多钱"))
    assert reply.startswith("⚠️")
    assert "supervision_site_investment_cny" not in reply
    assert "第 6 题" in reply
    assert "今年在跨境电商监管场所" in reply
    assert current_fact(talk) == "supervision_site_investment_cny"
    [reply] = texts(await talk.send("80万美元"))
    assert "人民币" in reply
    [reply] = texts(await talk.send("maybe"))
    assert current_fact(talk) == "supervision_site_investment_cny"
    await talk.send("没有")  # the question says 没有请填0
    assert current_fact(talk) == "cbec_export_usd"


async def test_a_question_typed_mid_interview_is_pointed_to_cancel(talk: Conversation) -> None:
    await talk.send("/check")
    [reply] = texts(await talk.send("租海外仓有补贴吗"))
    assert "请回答“是”或“否”" in reply
    assert "/cancel" in reply
    assert current_fact(talk) == "registered_in_hengyang"


async def test_skip_back_and_cancel(talk: Conversation) -> None:
    await talk.send("/check")
    assert "⬅️ 上一题" not in talk.buttons()  # nothing to go back to
    await talk.press(talk.buttons()["不清楚/跳过"])
    assert current_fact(talk) == "pays_tax_in_hengyang"
    requests = await talk.press(talk.buttons()["⬅️ 上一题"])
    assert current_fact(talk) == "registered_in_hengyang"
    assert "→ ⬅️ 上一题" in texts(requests)[0]
    await talk.send("不清楚")
    await talk.send("上一题")
    assert current_fact(talk) == "registered_in_hengyang"
    requests = await talk.press(talk.buttons()["✖ 取消自测"])
    assert "已取消" in texts(requests)[0]
    assert await talk.state() is None
    [reply] = texts(await talk.send("/cancel"))
    assert "没有进行中的" in reply


async def test_cancel_command_mid_interview(talk: Conversation) -> None:
    await talk.send("/check")
    [reply] = texts(await talk.send("/cancel"))
    assert "已取消" in reply
    assert await talk.state() is None


async def test_stale_and_forged_interview_buttons(talk: Conversation) -> None:
    await talk.send("/check")
    first = talk.keyboard_message()
    await talk.press(StepCB(action=StepAction.YES, fact="registered_in_hengyang").pack(), first)
    # the first question's button again (a double tap, or an old message)
    requests = await talk.press(StepCB(action=StepAction.NO, fact="registered_in_hengyang").pack(), first)
    [ack] = callback_answers(requests)
    assert ack.text
    assert "已经回答过" in ack.text
    assert not sent(requests)
    assert current_fact(talk) == "pays_tax_in_hengyang"
    # a yes under a question that wants a figure, a fact that does not exist
    for data in (
        StepCB(action=StepAction.YES, fact="cbec_export_usd").pack(),
        StepCB(action=StepAction.SKIP, fact="no_such_fact").pack(),
    ):
        requests = await talk.press(data)
        assert callback_answers(requests)[0].text
        assert not sent(requests)
    assert current_fact(talk) == "pays_tax_in_hengyang"


async def test_buttons_after_the_interview_ended(talk: Conversation) -> None:
    await talk.send("/check")
    question = talk.keyboard_message()
    await talk.send("/cancel")
    requests = await talk.press(StepCB(action=StepAction.YES, fact="registered_in_hengyang").pack(), question)
    [ack] = callback_answers(requests)
    assert ack.text
    assert "/check" in ack.text
    assert ack.show_alert


async def test_check_again_resumes_and_restart_starts_over(talk: Conversation) -> None:
    await talk.send("/check")
    await talk.send("是")
    [text] = texts(await talk.send("/check"))
    assert "继续您上次未完成的资格自测" in text
    assert "第 2 题" in text
    [start] = texts(await talk.send("/start"))
    assert "未完成的资格自测" in start
    await talk.press(StepCB(action=StepAction.RESTART, fact="pays_tax_in_hengyang").pack())
    assert current_fact(talk) == "registered_in_hengyang"
    assert "第 1 题" in (talk.keyboard_message().text or "")


async def test_a_redelivered_answer_is_applied_once(talk: Conversation) -> None:
    await talk.send("/check")
    for _ in range(4):
        await talk.send("是")
    await talk.send("否")  # the role checklist: none applies
    assert current_fact(talk) == "supervision_site_investment_cny"
    message = talk.message("0")
    await talk.send_message(message)
    assert current_fact(talk) == "cbec_export_usd"
    requests = await talk.send_message(message)  # the same update again, after a crash
    assert requests == []
    assert current_fact(talk) == "cbec_export_usd"


async def test_the_role_checklist_ticks_in_place_and_answers_together(talk: Conversation) -> None:
    await talk.send("/check")
    for _ in range(4):
        await talk.send("是")
    labels = [label for label in talk.buttons() if label.startswith("☐")]
    assert len(labels) >= 8
    college = next(label for label in labels if "大专院校" in label)
    requests = await talk.press(talk.buttons()[college])
    assert [type(r) for r in requests if isinstance(r, EditMessageText)] == [EditMessageText]  # redrawn
    assert "☑ " + college[2:] in talk.buttons()
    assert await talk.state() == InterviewStates.asking.state
    # a tick from an old message, or of a line the checklist does not have, changes nothing
    await talk.press(StepCB(action=StepAction.TOGGLE, fact="annual_social_insurance_cny").pack())
    assert "☑ " + college[2:] in talk.buttons()
    await talk.press(talk.buttons()["✔ 确定"])
    assert (
        current_fact(talk) == "supervision_site_investment_cny"
        or current_fact(talk) == "recognized_talent_base"
    )
    result = await run_interview(talk, {"recognized_talent_base": False})
    assert "第14条" in result


async def test_interview_in_english(talk: Conversation) -> None:
    talk.user = talk.user.model_copy(update={"language_code": "en-US"})
    [text] = texts(await talk.send("/check"))
    assert "Question 1 (of at most" in text
    assert "Is your organisation legally registered in Hengyang?" in text
    assert {"Yes", "No", "Not sure / skip", "✖ Cancel the check"} <= set(talk.buttons())
    result = await run_interview(talk, EXPORTER)
    assert "Likely eligible (2, up to CNY 515,000 in total)" in result
    assert "not met:" in result


async def test_a_restart_loses_nothing(
    tmp_path: Path, settings: Settings, assistant: Assistant, bot: Bot, session: MockedSession
) -> None:
    """The interview lives in SQLite: a new process (new database connection, new dispatcher)
    continues where the user was."""
    path = tmp_path / "bot.sqlite3"
    db = await open_database(path)
    talk = Conversation(create_dispatcher(settings, assistant=assistant, db=db), bot, session)
    await talk.send("/check")
    await talk.send("是")
    await talk.send("是")
    question = talk.keyboard_message()
    await db.close()

    db = await open_database(path)
    try:
        again = Conversation(create_dispatcher(settings, assistant=assistant, db=db), bot, session)
        assert await again.state() == InterviewStates.asking.state
        requests = await again.press(
            StepCB(action=StepAction.YES, fact="independent_legal_person").pack(), question
        )
        assert "贵单位有跨境电商进出口业绩" in texts(requests)[-1]
        assert "第 4 题" in texts(requests)[-1]
        result = await run_interview(again, EXPORTER)
        assert "合计最高 51.5万元" in result
    finally:
        await db.close()
    assert again.user.id == USER


async def test_echoed_input_in_an_error_is_escaped(talk: Conversation) -> None:
    await talk.send("/check")
    for word in ("是", "是", "是", "是", "否"):
        await talk.send(word)
    assert current_fact(talk) == "supervision_site_investment_cny"
    [reply] = texts(await talk.send("<b>12</b> & <i>"))
    assert "<b>12</b>" not in reply
    assert "&lt;" in reply
