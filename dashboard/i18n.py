"""Japanese and English for the dashboard: one catalogue, ``translate(lang, key, **params)``, and the
labels of every code word a page shows (states, kinds, severities, steps, outcomes): ``label``.

A key or a code word without a label is a bug: it is logged at ERROR (which fails the test suite) and
shown as is, rather than breaking the page for the person reading it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import date
from typing import Final

log = logging.getLogger(__name__)

LANGUAGES: Final = ("ja", "en")

# key: (English, Japanese)
MESSAGES: Final[Mapping[str, tuple[str, str]]] = {
    "app.title": ("Mimamori", "見守り"),
    "app.subtitle": ("Care-manager dashboard", "ケアマネジャー用ダッシュボード"),
    "nav.overview": ("Overview", "一覧"),
    "nav.sign_out": ("Sign out", "ログアウト"),
    "nav.language": ("日本語", "English"),
    "nav.skip": ("Skip to content", "本文へ移動"),
    "nav.disaster": ("Disaster check", "安否確認"),
    "disaster.title": ("Disaster check", "安否確認"),
    "disaster.start_help": (
        "After an earthquake: every resident gets an SMS (reply 1 or tap the link if safe); homes whose "
        "sensors show activity after the first minutes count as safe too.",
        "地震の後に：住民全員にSMSを送ります（無事なら1を返信、またはリンクをタップ）。最初の数分より後に"
        "センサーが動きを捉えた世帯も無事とします。",
    ),
    "disaster.area": ("Area", "地区"),
    "disaster.all_areas": ("Every household", "全世帯"),
    "disaster.organisation": ("Organisation", "団体"),
    "disaster.all_organisations": ("Every organisation", "すべての団体"),
    "disaster.organisation_help": (
        "An area is one of the chosen organisation's (areas are listed under each organisation).",
        "地区は選んだ団体の地区から選んでください（団体ごとに表示しています）。",
    ),
    "disaster.start": ("Start the check", "安否確認を開始"),
    "disaster.requested": (
        "Requested: the alerts service starts it within seconds. Reload this page.",
        "開始を依頼しました。数秒以内に始まります。このページを再読み込みしてください。",
    ),
    "disaster.started": ("Started {at}", "{at} 開始"),
    "disaster.households": ("Households", "世帯数"),
    "disaster.safe": ("Safe", "無事"),
    "disaster.unknown": ("Unknown (sensors offline)", "不明（機器停止）"),
    "disaster.waiting": ("Not yet known safe", "未確認"),
    "disaster.ordered": ("Who to reach first", "優先して確認する世帯"),
    "disaster.ordered_help": (
        "Asked for help first; then no sign of life since the start, living alone, needs (oxygen, "
        "mobility, dementia, hearing), the longest since any activity.",
        "救助要請が最優先。次に開始後の動きなし、独居、配慮事項（在宅酸素・歩行困難・認知症・難聴）、"
        "最後の動きからの時間の順です。",
    ),
    "disaster.standing_unknown": ("unknown", "不明"),
    "disaster.standing_waiting": ("not yet known safe", "未確認"),
    "disaster.help": ("asked for help", "救助要請"),
    "disaster.no_sign": ("no sign since the start", "開始後の動きなし"),
    "disaster.alone": ("lives alone", "独居"),
    "disaster.need_oxygen": ("home oxygen", "在宅酸素"),
    "disaster.need_mobility": ("mobility", "歩行困難"),
    "disaster.need_dementia": ("dementia", "認知症"),
    "disaster.need_hearing": ("hearing", "難聴"),
    "disaster.last_seen": ("last activity {at}", "最後の動き {at}"),
    "disaster.visiting": ("a volunteer is going", "支援者が訪問中"),
    "disaster.asked": ("volunteer asked", "支援者に依頼済"),
    "disaster.more": ("… and {n} more", "…ほか{n}世帯"),
    "disaster.ask_area": ("Ask the volunteers of", "支援者に確認を依頼する地区"),
    "disaster.ask": ("Ask volunteers", "支援者に依頼"),
    "disaster.ask_help": (
        "A few volunteers a minute, one household each, most in need first: never everyone at once.",
        "1分に数名ずつ、1人1世帯、優先度の高い順に依頼します（一斉には送りません）。",
    ),
    "disaster.end": ("End the check", "安否確認を終了"),
    "disaster.last": (
        "The last check ended {at}: {safe} of {households} households safe.",
        "前回の安否確認は{at}に終了：{households}世帯中{safe}世帯が無事。",
    ),
    "disaster.none": ("No disaster check so far.", "安否確認はまだ実施されていません。"),
    "disaster.note_started": ("Check requested.", "安否確認の開始を依頼しました。"),
    "disaster.note_busy": ("A check is already open.", "実施中の安否確認があります。"),
    "disaster.note_ended": ("End requested: the report is kept.", "終了を依頼しました。報告は保存されます。"),
    "disaster.note_asked": ("Volunteers will be asked, a few a minute.", "支援者に順に依頼します。"),
    "disaster.note_refused": ("Nothing changed.", "変更はありません。"),
    "login.title": ("Sign in", "ログイン"),
    "login.username": ("User name", "ユーザー名"),
    "login.password": ("Password", "パスワード"),
    "login.submit": ("Sign in", "ログイン"),
    "login.failed": ("User name or password is wrong.", "ユーザー名またはパスワードが違います。"),
    "login.throttled": (
        "Too many failed sign-ins. Try again in {minutes} minutes.",
        "ログインの失敗が多すぎます。{minutes}分後にもう一度お試しください。",
    ),
    "second.title": ("Second factor", "2段階認証"),
    "second.code": (
        "Code from your authenticator app (or a recovery code)",
        "認証アプリのコード（または回復コード）",
    ),
    "second.code_help": (
        "Open your authenticator app and type the six digits shown for Mimamori.",
        "認証アプリを開き、Mimamoriの6桁のコードを入力してください。",
    ),
    "second.submit": ("Continue", "続ける"),
    "second.wrong_code": (
        "That code is wrong or was used already.",
        "コードが違うか、すでに使用されています。",
    ),
    "second.enrol_title": ("Set up the second factor", "2段階認証の設定"),
    "second.enrol_help": (
        "Scan this QR code with an authenticator app (Google Authenticator, Microsoft Authenticator, "
        "1Password, ...) or type the key below into it, then enter the six digits it shows.",
        "認証アプリ（Google Authenticator、Microsoft Authenticator など）でこのQRコードを読み取るか、"
        "下のキーを入力し、表示された6桁のコードを入力してください。",
    ),
    "second.key": ("Key", "キー"),
    "second.confirm": ("Confirm", "確認"),
    "second.codes_title": ("Your recovery codes", "回復コード"),
    "second.codes_help": (
        "Keep these codes somewhere safe. Each one lets you sign in once without your phone. "
        "They are shown only now.",
        "安全な場所に保管してください。スマートフォンがないとき、1つにつき1回ログインできます。表示されるのは今回だけです。",
    ),
    "second.continue": ("I have kept them: continue", "保管しました。続ける"),
    "second.status_on": (
        "Second factor: on ({left} recovery codes left).",
        "2段階認証：有効（残りの回復コード {left}個）",
    ),
    "second.status_off": ("Second factor: off.", "2段階認証：無効"),
    "second.required": (
        "Your role requires the second factor; it cannot be removed.",
        "この役割では2段階認証が必須のため、解除できません。",
    ),
    "second.remove": ("Remove the second factor", "2段階認証を解除"),
    "nav.account": ("Second factor", "2段階認証"),
    "overview.title": ("Your households", "担当世帯"),
    "overview.all": ("All households", "全世帯"),
    "overview.empty": ("No households are assigned to you yet.", "担当の世帯はまだありません。"),
    "overview.live": ("Live: updates by itself", "自動で更新されます"),
    "overview.showing": (
        "{first}–{last} of {total}, most urgent first",
        "{total}件中 {first}〜{last}件目（緊急度順）",
    ),
    "overview.prev": ("Previous", "前へ"),
    "overview.next": ("Next", "次へ"),
    "col.household": ("Household", "世帯"),
    "col.state": ("State", "状態"),
    "col.last_activity": ("Last activity", "最後の活動"),
    "col.incidents": ("Open incidents", "対応中の事案"),
    "col.devices": ("Device problems", "機器の問題"),
    "col.room_temp": ("Room", "室温"),
    "state.active": ("Active", "活動あり"),
    "state.quiet": ("Quiet", "静か（要注意）"),
    "state.blind": ("Blind", "状況不明"),
    "state.away": ("Away", "不在"),
    "state.help.active": ("going about the day", "普段どおり活動しています"),
    "state.help.quiet": ("unusually quiet: check", "いつもより静かです。確認を"),
    "state.help.blind": (
        "gateway or sensors offline: we cannot tell",
        "機器がオフラインのため状況がわかりません",
    ),
    "state.help.away": ("away (planned)", "予定された不在"),
    "problem.low_battery": ("low battery", "電池残量低下"),
    "problem.silent": ("silent for over a day", "1日以上応答なし"),
    "problem.gateway_offline": ("gateway offline", "ゲートウェイ停止"),
    "time.never": ("never", "記録なし"),
    "time.ago_min": ("{n} min ago", "{n}分前"),
    "time.ago_h": ("{n} h ago", "{n}時間前"),
    "time.ago_d": ("{n} days ago", "{n}日前"),
    "household.heatmap": ("Activity, last {days} days", "活動（過去{days}日間）"),
    "household.heatmap_help": (
        "Each row is a day (newest at the bottom), each column an hour of the day; darker = more activity.",
        "1行が1日（下が最新）、1列が1時間です。色が濃いほど活動が多いことを示します。",
    ),
    "household.heatmap_none": ("no activity", "活動なし"),
    "household.timeline": ("Today by sensor", "今日のセンサー別の活動"),
    "household.timeline_none": ("no sensor events yet today", "今日はまだセンサーの反応がありません"),
    "household.rhythm": ("Wake-up and bedtime, last {days} days", "起床・就寝の推移（過去{days}日間）"),
    "household.climate": ("Room temperature and humidity, last {days} days", "室温・湿度（過去{days}日間）"),
    "household.climate_help": (
        "Hourly means; solid: °C (0–40), dashed: % humidity. Heat levels by the indoor WBGT estimate.",
        "1時間平均。実線: 室温℃（0〜40）、破線: 湿度%。暑さの段階は室内WBGTの推定による。",
    ),
    "household.heat_hours": ("Hours at each heat level this summer", "今夏の暑さ段階別の時間"),
    "household.hours": ("{hours} h", "{hours}時間"),
    "household.wake": ("wake-up", "起床"),
    "household.bed": ("bedtime", "就寝"),
    "household.incidents": ("Incidents", "事案"),
    "household.no_incidents": ("No incidents in the last 90 days.", "過去90日間に事案はありません。"),
    "household.devices": ("Devices", "機器"),
    "household.no_devices": ("No device has reported yet.", "まだ機器からの報告がありません。"),
    "household.gateways": ("Gateways", "ゲートウェイ"),
    "household.away": ("Away periods", "不在期間"),
    "household.no_away": ("No away periods.", "不在期間はありません。"),
    "household.contacts": ("Contacts", "連絡先"),
    "household.policy": ("Escalation policy", "連絡の順番"),
    "household.options": ("Watching options", "見守りの設定"),
    "household.edit": ("Edit", "編集"),
    "household.digest": ("Weekly digest", "週間レポート"),
    "household.address": ("Address hint", "住所の目安"),
    "incident.opened": ("opened", "発生"),
    "incident.closed": ("closed", "終了"),
    "incident.state": ("state", "状態"),
    "incident.reason": ("why", "理由"),
    "incident.log": ("Escalation log", "連絡の記録"),
    "incident.resolution": ("outcome", "結果"),
    "incident.note": ("note", "メモ"),
    "incident.claimed_by": ("going", "対応者"),
    "incident.resolved_by": ("closed by", "終了した人"),
    "incident.close": ("Close this incident", "この事案を終了する"),
    "incident.close_help": (
        "Everyone already texted is told it is closed. A false alarm teaches detection.",
        "連絡済みの全員に終了を知らせます。誤報の記録は検知の改善に使われます。",
    ),
    "incident.close_button": ("Close with this outcome", "この結果で終了"),
    "incident.closed_ok": (
        "Closed. Everyone already texted is being told.",
        "終了しました。連絡済みの方に通知します。",
    ),
    "incident.close_refused": ("Not closed:", "終了できませんでした："),
    "contact.opted_out": (
        "opted out (STOP) since {at}: not texted until they reply START",
        "{at}から配信停止中（STOP）：「再開」の返信まで連絡しません",
    ),
    "contact.opted_out_short": ("opted out", "配信停止中"),
    "contact.shared": (
        "also serves {households}: unless you are an administrator, your edit makes a separate entry"
        " for this household",
        "{households}の連絡先でもあります。管理者以外の編集は、この世帯用の別の連絡先として保存されます",
    ),
    "contact.shared_admin": (
        "also serves {households}: an edit changes it there too",
        "{households}の連絡先でもあります。編集はそちらにも反映されます",
    ),
    "overview.opted_out": ("opted out", "配信停止"),
    "overview.unreachable": ("cannot be reached", "連絡が届かない人"),
    "overview.uncovered": ("nobody reachable in", "連絡できる人がいない段"),
    "drill.no_answer": ("no answer to the test", "テストに応答なし"),
    "drill.send_failed": ("number refused", "番号に届かない"),
    "drill.opted_out": ("opted out", "配信停止"),
    "device.name": ("Device", "機器"),
    "device.new": ("new: not in the households file", "新規: 登録ファイルにない機器"),
    "device.seq_gap": (
        "{gateway}: {missing} events not received (no. {first}–{last}) since {since}",
        "{gateway}: {since} から {missing} 件のイベントが届いていません（番号 {first}–{last}）",
    ),
    "device.kind": ("Kind", "種類"),
    "device.room": ("Room", "部屋"),
    "device.battery": ("Battery", "電池"),
    "device.last_seen": ("Last seen", "最終確認"),
    "gateway.state": ("State", "状態"),
    "gateway.since": ("Since", "変化した時刻"),
    "gateway.heartbeat": ("Last heartbeat", "最終ハートビート"),
    "away.start": ("From", "開始"),
    "away.end": ("Until", "終了"),
    "away.set_by": ("Set by", "設定者"),
    "away.note": ("Note", "メモ"),
    "away.add": ("Add away period", "不在期間を追加"),
    "away.remove": ("Remove", "削除"),
    "away.help": (
        "While the resident is away, no inactivity alerts are sent. Times are local to the household.",
        "不在の間は活動なしの通知を送りません。時刻は世帯の現地時刻です。",
    ),
    "calendar.title": ("Care calendar", "ケアカレンダー"),
    "calendar.help": (
        "Planned absences (day service, short stay, hospital visits) count as away. If nothing is seen "
        "some time after one ends (an hour by default), the care manager is told on the dashboard "
        "(no alert to neighbours).",
        "予定された外出（デイサービス、ショートステイ、通院）は不在として扱います。終了から一定時間"
        "（既定1時間）たっても帰宅の気配がなければケアマネジャーに表示します（近所への通知はしません）。",
    ),
    "calendar.label": ("What", "内容"),
    "calendar.label_example": ("e.g. day service", "例 デイサービス"),
    "calendar.kind": ("Repeats", "繰り返し"),
    "calendar.weekly": ("Every week, on the days ticked", "毎週（選んだ曜日）"),
    "calendar.dated": ("On dates (from – to)", "日付指定（開始日～終了日）"),
    "calendar.days": ("Days of the week", "曜日"),
    "calendar.from": ("First day", "開始日"),
    "calendar.to": ("Last day (empty: the same day)", "終了日（空欄: 同じ日）"),
    "calendar.start": ("Leaves at", "出発時刻"),
    "calendar.end": ("Back by", "帰宅予定"),
    "calendar.add": ("Add to the calendar", "カレンダーに追加"),
    "calendar.remove": ("Remove", "削除"),
    "calendar.none": ("No planned absences.", "予定された外出はありません。"),
    "calendar.every": ("every", "毎週"),
    "calendar.next_day": ("next day", "翌日"),
    "contact.name": ("Name", "氏名"),
    "contact.phone": ("Phone (+81...)", "電話番号（+81…）"),
    "contact.role": ("Role", "役割"),
    "contact.language": ("Language", "言語"),
    "contact.channels": ("Channels, in order", "連絡手段（順番に）"),
    "contact.channels_hint": (
        "sms, voice (a call; landlines), line, email; an alert falls back to the next one",
        "sms・voice（電話。固定電話も可）・line・email。届かなければ次の手段へ",
    ),
    "contact.line_linked": ("LINE linked", "LINE連携済み"),
    "contact.email": ("E-mail (optional)", "メールアドレス（任意）"),
    "contact.save": ("Save", "保存"),
    "contact.add": ("Add a contact", "連絡先を追加"),
    "contact.saved": ("Saved.", "保存しました。"),
    "contact.errors": ("Please correct the marked fields.", "印の付いた項目を直してください。"),
    "role.resident": ("resident", "本人"),
    "role.neighbour": ("neighbour", "近隣の方"),
    "role.volunteer": ("volunteer", "ボランティア"),
    "role.professional": ("professional", "専門職"),
    "role.technical": ("technical", "技術担当"),
    "role.family": ("family", "ご家族"),
    "policy.tier": ("Tier", "段階"),
    "policy.mode": ("How", "連絡方法"),
    "policy.mode.all": ("all at once", "全員に同時"),
    "policy.mode.one_by_one": ("one by one", "一人ずつ"),
    "policy.wait": ("Wait before next tier (min)", "次の段階までの待ち時間（分）"),
    "policy.members": ("Who", "誰に"),
    "policy.save": ("Save policy", "保存"),
    "policy.new_tier": ("Add a tier", "段階を追加"),
    "policy.settings": ("Settings", "設定"),
    "policy.pool": ("Also the organisation's volunteer pool", "団体のボランティア共有プールからも"),
    "policy.pool_size": ("Volunteers drawn from the pool", "プールから選ぶ人数"),
    "policy.pool_on": (
        "Draws {n} from the organisation's volunteer pool.",
        "団体の共有プールから{n}人を選びます。",
    ),
    "policy.claim_timeout_minutes": (
        "A claim with no outcome escalates after (min)",
        "「行きます」の後、結果がなければ次へ（分）",
    ),
    "policy.volunteer_weekly_cap": (
        "Alerts per volunteer a week, at most",
        "ボランティア1人あたりの週の上限",
    ),
    "policy.quiet_hours": (
        "Quiet hours (notices that are not urgent wait)",
        "静かな時間帯（緊急でないお知らせは待つ）",
    ),
    "policy.quiet_help": ("Leave both empty for none.", "設けない場合は両方とも空欄にしてください。"),
    "policy.quiet_start": ("From", "開始"),
    "policy.quiet_end": ("Until", "終了"),
    "nav.volunteers": ("Volunteers", "ボランティア"),
    "nav.admin": ("Administration", "管理"),
    "nav.read_only": ("Read only", "閲覧のみ"),
    "admin.users": ("Staff", "職員"),
    "admin.households": ("Households", "世帯"),
    "admin.user_new": ("New account", "アカウントを作成"),
    "admin.user_add": ("Create the account", "作成"),
    "admin.user_edit": ("Account", "アカウント"),
    "admin.display_name": ("Name shown", "表示名"),
    "admin.role": ("Role", "役割"),
    "admin.role_help": (
        "Care managers edit the households assigned to them; organisation administrators manage "
        "everything of the organisation; viewers read only.",
        "ケアマネジャーは担当世帯を編集、組織管理者は組織のすべてを管理、閲覧者は閲覧のみです。",
    ),
    "admin.organisation": ("Organisation", "組織"),
    "admin.area": ("Area", "地区"),
    "admin.area_help": (
        "Viewers: the one area they read (empty: the whole organisation).",
        "閲覧者：閲覧できる地区（空欄なら組織全体）",
    ),
    "admin.password_new": (
        "New password (empty: unchanged; at least 12 characters)",
        "新しいパスワード（空欄なら変更なし、12文字以上）",
    ),
    "admin.assigned": ("Assigned households (care managers)", "担当世帯（ケアマネジャー）"),
    "admin.no_households": ("No households yet.", "世帯はまだありません。"),
    "admin.household_new": ("New household", "世帯を登録"),
    "admin.household_add": ("Register the household", "登録"),
    "admin.household_edit": ("Household", "世帯"),
    "admin.household_name": ("Resident's name", "お名前"),
    "admin.address_hint": ("Address hint (never the full address)", "住所の目安（番地まで書かない）"),
    "admin.time_zone": ("Time zone", "タイムゾーン"),
    "admin.lives_alone": ("Lives alone", "一人暮らし"),
    "admin.needs": ("Needs (who is reached first after a disaster)", "配慮事項（災害時に優先）"),
    "admin.id_help": (
        "Lower-case letters, digits, - and _, as the gateway is set up.",
        "英小文字・数字・-・_（ゲートウェイの設定と同じ）",
    ),
    "admin.first_contact": ("First contact", "最初の連絡先"),
    "admin.first_contact_help": (
        "Alerted first; add others and the rest of the policy on the household's pages.",
        "最初に連絡する方です。ほかの連絡先と連絡の順番は世帯のページで追加できます。",
    ),
    "admin.edit": ("Edit", "編集"),
    "options.help": (
        "Extra checks for this household, each sent to its contacts like any other alert. "
        "Changes take effect within a minute.",
        "この世帯だけの追加の見守りです。通知は他の通知と同じ連絡先に届きます。変更は1分以内に反映されます。",
    ),
    "options.night_exit": ("Night exit", "夜間の外出"),
    "options.night_exit.help": (
        "Alert when the main door opens at night (22:00–05:00) and nothing moves after it (30 minutes "
        "by default). For residents who may wander; only with their agreement.",
        "夜間（22時〜5時）に玄関が開き、その後動きがないとき（標準30分）に通知します。徘徊の心配がある方向け。"
        "本人の同意が必要です。",
    ),
    "options.evening_check": ("Evening check", "夜の見守り"),
    "options.evening_check.help": (
        "For homes with no sensor in the living room or bedroom, where an evening fall looks like an "
        "early night until morning. Alerts at night when the home has been quiet since before the "
        "earliest bedtime ever seen and is still quiet after the latest. It can wake a neighbour on a "
        "night the resident goes to bed earlier than ever before. Automatic by default: on where no "
        "activity is seen in the living room or bedroom.",
        "居間や寝室にセンサーがない世帯向けです。夕方の転倒が朝まで早寝と見分けられないため、"
        "これまでで最も早い就寝時刻より前から動きがなく、最も遅い就寝時刻を過ぎても動きがないときに夜間に通知します。"
        "これまでより早く寝た夜には近隣の方を起こすことがあります。"
        "標準は自動：居間や寝室で動きが見られない世帯で有効になります。",
    ),
    "options.switch.auto": (
        "Automatic (on where no sensor sees the evening)",
        "自動(夜を見るセンサーがない世帯で有効)",
    ),
    "options.switch.on": ("On", "有効"),
    "options.switch.off": ("Off", "無効"),
    "options.save": ("Save options", "保存"),
    "household.sensitivity": ("Sensitivity", "感度"),
    "sensitivity.help": (
        "How soon a quiet stretch in this home is raised. Higher: sooner, and more false alarms; lower: "
        "fewer false alarms, and a fall is found later. The table shows what each setting would have "
        "done in this home. Changes take effect within a minute.",
        "この世帯で動きのない状態をどれだけ早く通知するかの設定です。高くすると早く通知しますが誤報が増え、"
        "低くすると誤報は減りますが転倒の発見が遅れます。表はこの世帯の記録で各設定を試算したものです。"
        "変更は1分以内に反映されます。",
    ),
    "sensitivity.level.low": ("Low (later, fewer false alarms)", "低(通知は遅め・誤報は少なめ)"),
    "sensitivity.level.standard": ("Standard", "標準"),
    "sensitivity.level.high": ("High (sooner, more false alarms)", "高(通知は早め・誤報は多め)"),
    "sensitivity.current": ("current", "現在"),
    "sensitivity.cost": (
        "Each setting on this home's last {weeks} weeks",
        "この世帯の過去{weeks}週間の記録での試算",
    ),
    "sensitivity.cost_help": (
        "Alarms: how many times contacts would have been alerted (each one a false alarm unless it was a "
        "real emergency). Wait: from a fall at 10:00, 14:00 or 18:00 on each day the resident was seen "
        "in the hour before, to the alert.",
        "通知の回数：連絡先に通知が届いた回数(実際の緊急事態でなければ誤報)。待ち時間：毎日10時・14時・18時"
        "(その前1時間に動きがあった日)に転倒したとして、通知までにかかる時間。",
    ),
    "sensitivity.col.alarms": ("Alarms", "通知の回数"),
    "sensitivity.col.wait": ("Wait after a fall (median)", "転倒から通知まで(中央値)"),
    "sensitivity.col.wait_p90": ("Slowest tenth", "遅い1割"),
    "sensitivity.col.versus": ("Against standard", "標準との差"),
    "sensitivity.alarms": ("{n} in {days} days", "{days}日間で{n}回"),
    "sensitivity.later": ("found {n} min later", "{n}分遅く発見"),
    "sensitivity.sooner": ("found {n} min sooner", "{n}分早く発見"),
    "sensitivity.no_history": (
        "Not enough history yet to measure.",
        "試算できるだけの記録がまだありません。",
    ),
    "sensitivity.calculating": (
        "Calculating on this home's history… the page refreshes by itself.",
        "計算中… この家の記録で計算しています。ページは自動で更新されます。",
    ),
    "sensitivity.save": ("Save sensitivity", "保存"),
    "sensitivity.learned": ("Learned from closed incidents", "対応結果からの学習"),
    "sensitivity.learned.none": (
        "Nothing yet: an incident closed as a false alarm loosens the threshold that raised it.",
        "まだありません。誤報として終了した事案は、その通知の基準を緩めます。",
    ),
    "sensitivity.learned.row": (
        "{band}, {rule}: threshold {change} after {false_alarms} false alarm(s) and {emergencies} "
        "emergency(ies); back to normal by {until}",
        "誤報{false_alarms}件・緊急{emergencies}件を受けて {band}の{rule}の基準を{change}に"
        "({until}までに元に戻ります)",
    ),
    "sensitivity.reset": ("Reset what was learned", "学習をリセット"),
    "sensitivity.reset.help": (
        "Forgets every adjustment above: the thresholds go back to what this home's history alone gives. "
        "The incidents themselves are kept.",
        "上の調整をすべて取り消し、この家の記録だけから学んだ基準に戻します。事案の記録は残ります。",
    ),
    "sensitivity.reset.confirm": ("Yes, reset the learned adjustments", "学習した調整をリセットします"),
    "sensitivity.reset.done": ("The learned adjustments were reset.", "学習した調整をリセットしました。"),
    "sensitivity.rule.quiet": ("no activity", "動きなし"),
    "sensitivity.rule.bathroom": ("time in the bathroom", "浴室"),
    "sensitivity.rule.toilet": ("time in the toilet", "トイレ"),
    "sensitivity.rule.outing": ("outing", "外出"),
    "sensitivity.band.all": ("all day", "終日"),
    "unit.hours": ("{n} h", "{n}時間"),
    "family.title": ("Family", "ご家族"),
    "family.help": (
        "Family contacts get a daily digest and are told when an incident opens and closes; "
        "they are never asked to go unless the policy lists them. Unticked: no longer linked.",
        "ご家族には毎日のお知らせと、対応の開始・終了をお伝えします。方針で指定しない限り駆け付けは"
        "依頼しません。チェックを外すと登録を解除します。",
    ),
    "family.linked": ("Family of this household", "この世帯のご家族"),
    "family.digest": ("Daily digest", "毎日のお知らせ"),
    "family.digest.none": ("none", "なし"),
    "family.digest.sms": ("by SMS", "SMSで"),
    "family.digest.email": ("by e-mail", "メールで"),
    "family.incidents": ("Told when an incident opens and closes", "対応の開始・終了を知らせる"),
    "family.save": ("Save family", "ご家族の設定を保存"),
    "volunteer.title": ("Volunteer settings", "ボランティアの設定"),
    "volunteer.link": ("Volunteer settings", "ボランティアの設定"),
    "volunteer.weekly_cap": (
        "Alerts a week at most (empty: the policy's)",
        "週あたりの連絡の上限（空欄：方針の値）",
    ),
    "volunteer.availability": ("When they may be asked", "連絡してよい時間帯"),
    "volunteer.availability_help": (
        "One window a line: days, then start-end, e.g. mon,tue,wed,thu,fri 09:00-17:00 "
        "(days: mon tue wed thu fri sat sun; an end not after the start ends the next day). Empty: any time.",
        "1行に1つ：曜日、開始-終了の順に。例 mon,tue,wed,thu,fri 09:00-17:00"
        "（曜日：mon=月 tue=火 wed=水 thu=木 fri=金 sat=土 sun=日。終了が開始以前なら翌日まで）。"
        "空欄：いつでも。",
    ),
    "volunteer.resting_until": ("Resting through (date)", "お休みの最終日"),
    "volunteer.resting_help": ("Empty: not resting.", "空欄：お休みなし。"),
    "volunteer.pools": ("Shared pools (organisations)", "共有プール（団体）"),
    "volunteer.pools_kept": ("Also in the pools of: {pools}", "ほかに次の団体のプールにも登録：{pools}"),
    "volunteer.save": ("Save", "保存"),
    "volunteers.title": ("Volunteer records", "ボランティア活動記録"),
    "volunteers.month": ("Month: {month}", "対象月：{month}"),
    "volunteers.month_field": ("Month", "対象月"),
    "volunteers.org_field": ("Organisation (empty: all)", "団体（空欄：すべて）"),
    "volunteers.show": ("Show", "表示"),
    "volunteers.none": ("No volunteers.", "ボランティアの登録がありません。"),
    "volunteers.bad_month": ("The month must be YYYY-MM.", "対象月はYYYY-MMの形で指定してください。"),
    "volunteers.bad_org": ("Unknown organisation id.", "団体IDが正しくありません。"),
    "volunteers.hint": (
        "Answered: any answer to an alert. Visits: claimed alerts closed with an outcome. Points follow"
        " the [volunteers] points rule.",
        "応答：通知への返信（内容を問わず）。訪問：駆け付けを引き受け結果の報告で終えた件数。"
        "ポイントは設定 [volunteers] points の規則によります。",
    ),
    "volunteers.col.contact": ("ID", "ID"),
    "volunteers.col.name": ("Name", "氏名"),
    "volunteers.col.alerts": ("Alerts", "通知"),
    "volunteers.col.answered": ("Answered", "応答"),
    "volunteers.col.claimed": ("Claimed", "駆け付け"),
    "volunteers.col.visits": ("Visits", "訪問"),
    "volunteers.col.visit_safe": ("Safe", "無事"),
    "volunteers.col.visit_false_alarm": ("False alarm", "誤報"),
    "volunteers.col.visit_no_answer_at_door": ("No answer", "応答なし"),
    "volunteers.col.visit_hospital": ("Hospital", "搬送"),
    "volunteers.col.visit_emergency_handled": ("Emergency", "救急対応"),
    "volunteers.col.visit_other": ("Other", "その他"),
    "volunteers.col.drills": ("Drills", "訓練"),
    "volunteers.col.points": ("Points", "ポイント"),
    "digest.hot_hours": ("Hot rooms (severe or above)", "室温 厳重警戒以上"),
    "digest.title": ("Weekly digest: {name}", "週間レポート：{name}"),
    "digest.week": ("Week of {start} to {end}", "{start}〜{end}の週"),
    "digest.csv": ("Download CSV", "CSVをダウンロード"),
    "digest.print": ("Print", "印刷"),
    "digest.prev": ("Previous week", "前の週"),
    "digest.next": ("Next week", "次の週"),
    "digest.day": ("Day", "日付"),
    "digest.events": ("Activity events", "活動の回数"),
    "digest.active_hours": ("Active hours", "活動した時間帯"),
    "digest.night_events": ("Night activity (0-5h)", "夜間の活動（0〜5時）"),
    "digest.incidents": ("Incidents this week", "今週の事案"),
    "error.not_found": ("Not found.", "見つかりません。"),
    "error.read_only": ("Your role may read, not change.", "この役割では閲覧のみできます。"),
    "error.title": ("Something is wrong", "エラー"),
    "unit.minutes": ("{n} min", "{n}分"),
}

# A refused form's messages, by their English text as the edit's rules word them -> (English, Japanese).
# A message not listed (a rule's own wording) is shown as it comes.
FORM_ERRORS: Final[Mapping[str, tuple[str, str]]] = {
    "must be after the start": ("must be after the start", "開始より後にしてください"),
    "must be in the future": ("must be in the future", "未来の日時にしてください"),
    "at most 90 days after the start": ("at most 90 days after the start", "開始から90日以内にしてください"),
    "YYYY-MM-DD HH:MM": ("YYYY-MM-DD HH:MM", "日時を入力してください（例 2026/12/03 09:00）"),
    "a whole number of minutes": ("a whole number of minutes", "分を整数で入力してください"),
    "tick or untick the box": ("tick or untick the box", "チェックを付けるか外してください"),
    "choose low, standard or high": ("choose low, standard or high", "低・標準・高から選んでください"),
    "tick the box to confirm the reset": (
        "tick the box to confirm the reset",
        "リセットする場合はチェックを入れてください",
    ),
    "no such away period": ("no such away period", "その不在期間はありません"),
    "no such calendar entry": ("no such calendar entry", "その予定はありません"),
    "no such calendar entry in this household": (
        "no such calendar entry in this household",
        "この世帯にその予定はありません",
    ),
    "give exactly one of weekly, date or from": (
        "choose the days of the week, or a first day",
        "曜日か開始日を入力してください",
    ),
    "weekly: each day at most once": ("each day at most once", "同じ曜日は1回だけにしてください"),
    "end must differ from start": (
        "the end must differ from the start",
        "終了は開始と別の時刻にしてください",
    ),
    "end must be after start": ("the end must be after the start", "終了は開始より後にしてください"),
    "'to' must be on or after 'from', within 92 days": (
        "the last day must be on or after the first, within 92 days",
        "終了日は開始日以降、92日以内にしてください",
    ),
    "no such away period in this household": (
        "no such away period in this household",
        "この世帯にその不在期間はありません",
    ),
    "no such contact in this household": (
        "no such contact in this household",
        "この世帯にその連絡先はありません",
    ),
    "the policy changed meanwhile; reload the page": (
        "the policy changed meanwhile; reload the page",
        "その間に連絡の順番が変更されました。ページを再読み込みしてください",
    ),
    "unknown organisation": ("unknown organisation", "その組織はありません"),
    "a household with this id exists already": (
        "a household with this id exists already",
        "このIDの世帯はすでにあります",
    ),
    "this tier is in the policy already": ("this tier is in the policy already", "この段階はすでにあります"),
    "lower-case letters, digits, - and _ (at most 64)": (
        "lower-case letters, digits, - and _ (at most 64)",
        "英小文字・数字・-・_ で64文字以内にしてください",
    ),
    "choose a role": ("choose a role", "役割を選んでください"),
    "your own role and organisation stay as they are": (
        "your own role and organisation stay as they are",
        "自分の役割と組織は変更できません",
    ),
    "unknown households": ("unknown households", "その世帯はありません"),
    "at least 12 characters": ("at least 12 characters", "12文字以上にしてください"),
    "a resident, neighbour, volunteer or professional": (
        "a resident, neighbour, volunteer or professional",
        "本人・近隣の方・ボランティア・専門職から選んでください",
    ),
    "phone must be E.164, e.g. +819012345678": (
        "phone must be E.164, e.g. +819012345678",
        "電話番号は国番号から（例 +819012345678）",
    ),
}

# group -> code word -> (English, Japanese)
LABELS: Final[Mapping[str, Mapping[str, tuple[str, str]]]] = {
    "kind": {  # detection.findings.FindingKind
        "help_button": ("help button pressed", "緊急ボタン"),
        "inactivity": ("no activity", "動きなし"),
        "missed_wakeup": ("not up at the usual time", "起床の気配なし"),
        "long_absence": ("out for unusually long", "長時間の外出"),
        "night_exit": ("left home at night", "夜間の外出"),
        "evening_quiet": ("quiet all evening", "夕方から動きなし"),
        "blind_gateway": ("gateway offline", "ゲートウェイ停止"),
        "blind_sensors": ("all sensors silent", "センサーが無反応"),
        "device_silent": ("device silent", "機器の応答なし"),
        "low_battery": ("low battery", "電池残量低下"),
        "stuck_sensor": ("sensor may be stuck", "センサー故障の疑い"),
        "data_gap": ("readings lost on the way", "記録の欠落"),
        "slow_decline": ("slow decline", "活動の緩やかな低下"),
        "not_back": ("not back as planned", "予定の帰宅なし"),
        "heat": ("dangerous heat indoors", "室内の危険な暑さ"),
        "cold": ("cold indoors", "室内の寒さ"),
        "heat_shock": ("heat-shock risk (bathroom cold)", "ヒートショックの恐れ"),
    },
    "heat_level": {  # detection.climate.HeatLevel (the Japanese Society of Biometeorology's levels)
        "safe": ("safe", "ほぼ安全"),
        "caution": ("caution", "注意"),
        "alert": ("alert", "警戒"),
        "severe": ("severe", "厳重警戒"),
        "danger": ("danger", "危険"),
    },
    "severity": {  # detection.findings.Severity
        "urgent": ("urgent", "緊急"),
        "warning": ("check today", "要確認"),
        "info": ("for review", "参考"),
    },
    "incident_state": {  # escalation.models.IncidentState
        "open": ("open", "未連絡"),
        "notifying": ("contacting people", "連絡中"),
        "claimed": ("someone is going", "対応中"),
        "resumed": ("activity resumed, watching", "動きあり・見守り中"),
        "resolved": ("resolved", "解決"),
    },
    "outcome": {  # escalation.models.Outcome
        "safe": ("safe", "無事"),
        "false_alarm": ("false alarm", "誤報"),
        "no_answer_at_door": ("no answer at the door", "訪問時応答なし"),
        "hospital": ("taken to hospital", "病院へ搬送"),
        "emergency_handled": ("emergency handled", "救急対応済"),
        "activity_resumed": ("activity resumed", "動きが戻った"),
        "fault_cleared": ("fault cleared", "機器復旧"),
        "room_cooled": ("room safe again", "室温が安全な範囲に"),
        "superseded": ("replaced by a newer incident", "新しい事案へ"),
        "suppressed": ("platform outage", "障害として処理"),
        "other": ("other (see note)", "その他（メモ参照）"),
    },
    "log": {  # an incident log line: escalation.models.StepKind, sms_ + SmsPurpose, reply/link audit
        "opened": ("opened", "発生"),
        "notified": ("notified", "連絡"),
        "claimed": ("claimed (going)", "対応を引き受け"),
        "declined": ("declined", "辞退"),
        "claim_expired": ("claim expired", "対応の期限切れ"),
        "help": ("passed to professionals", "専門職へ"),
        "exhausted": ("nobody left to contact", "連絡先がなくなりました"),
        "activity_resumed": ("activity resumed", "活動再開"),
        "resolved": ("resolved", "解決"),
        "suppressed": ("part of a platform outage", "システム障害に含む"),
        "opted_out": ("contact opted out", "配信停止"),
        "delivery_failed": ("delivery failed", "送信失敗"),
        "operators_told": ("operators told", "運用担当へ連絡"),
        "repeated": ("repeated answer (no change)", "重複した回答（変更なし）"),
        "superseded": ("replaced by a newer incident", "新しい事案へ"),
        "reopened": ("reopened", "再開"),
        "fault_cleared": ("fault cleared", "機器復旧"),
        "room_cooled": ("room safe again", "室温が安全な範囲に"),
        "sms_superseded_notice": ("SMS: replaced by a newer alert", "SMS（新しい連絡のお知らせ）"),
        "sms_drill": ("SMS: contact test", "SMS（連絡網テスト）"),
        "sms_disaster": ("SMS: disaster check", "SMS（安否確認）"),
        "sms_drill_dry_run": ("end-to-end drill (not sent)", "通し訓練（送信なし）"),
        "sms_alert": ("SMS alert", "SMS（通知）"),
        "sms_claimed_notice": ("SMS: someone is going", "SMS（対応者のお知らせ）"),
        "sms_resolved_notice": ("SMS: resolved", "SMS（解決のお知らせ）"),
        "sms_activity_notice": ("SMS: activity resumed", "SMS（活動再開のお知らせ）"),
        "sms_reply": ("SMS answer to a reply", "SMS（返信への案内）"),
        "sms_operator": ("SMS to the operators", "SMS（運用担当へ）"),
        "sms_family_notice": ("notice to the family", "ご家族へのお知らせ"),
        "sms_digest": ("family's daily digest", "ご家族への毎日のお知らせ"),
        "reply": ("reply by SMS", "SMSでの返信"),
        "reply.refused": ("reply not accepted", "受け付けなかった返信"),
        "reply.unknown": ("reply not understood", "解釈できない返信"),
        "link.tap": ("answer by link", "リンクでの回答"),
        "link.view": ("link opened", "リンクを表示"),
        "link.refused": ("link not accepted", "受け付けなかったリンク"),
    },
    "reply": {  # escalation.replies.ReplyAction
        "go": ("I'll go", "行きます"),
        "cant": ("can't go", "行けません"),
        "safe": ("safe", "無事"),
        "help": ("emergency", "救急"),
        "stop": ("stop texting me", "配信停止"),
        "start": ("text me again", "配信再開"),
        "no_answer_at_door": ("no answer at the door", "訪問時応答なし"),
        "hospital": ("taken to hospital", "病院へ搬送"),
        "ack": ("OK (asked to confirm)", "了解（確認待ち）"),
        "test": ("contact test answered", "テストへの返信"),
        "rest": ("resting (volunteer)", "お休み（ボランティア）"),
        "record": ("own record asked", "活動記録の問い合わせ"),
        "unknown": ("not understood", "不明"),
    },
    "sms_status": {  # escalation.models.SmsStatus
        "queued": ("queued", "送信待ち"),
        "sending": ("sending", "送信中"),
        "sent": ("sent", "送信済み"),
        "delivered": ("delivered", "配信済み"),
        "undelivered": ("not delivered", "未配信"),
        "failed": ("failed", "失敗"),
        "cancelled": ("cancelled", "取り消し"),
    },
    "device_kind": {  # mimamori.contract.Kind
        "motion": ("motion", "人感"),
        "door": ("door", "ドア"),
        "power": ("power", "電力"),
        "button": ("help button", "緊急ボタン"),
        "battery": ("battery", "電池"),
        "checkin": ("check-in", "定期報告"),
        "occupancy": ("presence / bed sensor", "在室・在床センサー"),
        "temperature": ("temperature", "温度"),
        "humidity": ("humidity", "湿度"),
    },
    "occupancy_state": {  # an occupancy device's last reading (the device card)
        "occupied": ("occupied", "在室中"),
        "clear": ("clear", "不在"),
    },
    "room": {  # registry.models.Room
        "entrance": ("entrance", "玄関"),
        "living": ("living room", "居間"),
        "bedroom": ("bedroom", "寝室"),
        "kitchen": ("kitchen", "台所"),
        "bathroom": ("bathroom", "浴室"),
        "toilet": ("toilet", "トイレ"),
        "other": ("other", "その他"),
    },
    "gateway_state": {  # mimamori.contract.GatewayState
        "online": ("online", "接続中"),
        "offline": ("offline", "停止"),
    },
    "staff_role": {  # dashboard.users.StaffRole
        "care_manager": ("care manager", "ケアマネジャー"),
        "org_admin": ("organisation administrator", "組織管理者"),
        "viewer": ("viewer (read only)", "閲覧者"),
        "admin": ("platform administrator", "全体管理者"),
    },
    "need": {  # registry.models.Need
        "mobility": ("needs help to move", "移動に介助が必要"),
        "oxygen": ("home oxygen", "在宅酸素"),
        "dementia": ("dementia", "認知症"),
        "hearing": ("hard of hearing", "聴覚に不安"),
    },
    "tier": {  # registry.models.TierKind
        "resident_check": ("resident first", "本人へ確認"),
        "neighbours": ("neighbours", "近隣の方"),
        "volunteers": ("volunteers", "ボランティア"),
        "professionals": ("professionals", "専門職"),
        "technical": ("technical contact", "技術担当"),
        "operators": ("operators", "運用担当"),
    },
    "language": {"ja": ("Japanese", "日本語"), "en": ("English", "英語")},
    "weekday": {  # date.weekday()
        "0": ("Mon", "月"),
        "1": ("Tue", "火"),
        "2": ("Wed", "水"),
        "3": ("Thu", "木"),
        "4": ("Fri", "金"),
        "5": ("Sat", "土"),
        "6": ("Sun", "日"),
    },
}


def translate(lang: str, key: str, **params: object) -> str:
    """The message in ``lang`` (English when the key is missing in the catalogue: the key itself)."""
    pair = MESSAGES.get(key)
    if pair is None:
        log.error("dashboard.label_missing key=%s", key)
        return key
    text = pair[1] if lang == "ja" else pair[0]
    return text.format(**params) if params else text


def label(lang: str, group: str, value: object) -> str:
    """The label of a code word (an enum member or its value) of ``group`` in ``lang``."""
    word = str(getattr(value, "value", value))
    pair = LABELS.get(group, {}).get(word)
    if pair is None:
        log.error("dashboard.label_missing group=%s value=%s", group, word)
        return word
    return pair[1] if lang == "ja" else pair[0]


VALIDATION: Final[Mapping[str, tuple[str, str]]] = {
    # pydantic's error type -> (English, Japanese), with the error's context as parameters
    "missing": ("required", "入力してください"),
    "string_too_short": ("at least {min_length} characters", "{min_length}文字以上にしてください"),
    "string_too_long": ("at most {max_length} characters", "{max_length}文字以内にしてください"),
    "too_short": ("at least {min_length} chosen", "{min_length}つ以上選んでください"),
    "too_long": ("at most {max_length} chosen", "{max_length}つ以内にしてください"),
    "int_parsing": ("a whole number", "整数を入力してください"),
    "int_type": ("a whole number", "整数を入力してください"),
    "int_from_float": ("a whole number", "整数を入力してください"),
    "greater_than_equal": ("at least {ge}", "{ge}以上にしてください"),
    "greater_than": ("more than {gt}", "{gt}より大きくしてください"),
    "less_than_equal": ("at most {le}", "{le}以下にしてください"),
    "less_than": ("less than {lt}", "{lt}より小さくしてください"),
    "enum": ("one of {expected}", "次から選んでください: {expected}"),
    "literal_error": ("one of {expected}", "次から選んでください: {expected}"),
    "string_pattern_mismatch": ("not in the expected form", "形式が正しくありません"),
    "time_parsing": ("a time, HH:MM", "時刻を入力してください（例 09:00）"),
    "date_parsing": ("a date, YYYY-MM-DD", "日付を入力してください（例 2026-12-03）"),
    "only a volunteers tier draws on the pool": (
        "only a volunteers tier draws on the pool",
        "共有プールはボランティアの段階だけで使えます",
    ),
    "a date, e.g. 2026-12-20": ("a date, e.g. 2026-12-20", "日付を入力してください（例 2026-12-20）"),
    "pools: only organisations you manage": (
        "only organisations you manage",
        "管理している団体だけを選んでください",
    ),
    "days: each day at most once": ("each day at most once", "同じ曜日は1回だけにしてください"),
    "date_from_datetime_parsing": ("a date, YYYY-MM-DD", "日付を入力してください（例 2026-12-03）"),
}


def validation_message(error_type: str, ctx: Mapping[str, object] | None, message: str) -> str:
    """A validation error as the dashboard states it (English; :func:`form_error` translates it)."""
    template = VALIDATION.get(error_type)
    if template is None:
        return message.removeprefix("Value error, ")
    return template[0].format(**{k: v for k, v in (ctx or {}).items() if isinstance(v, str | int | float)})


def form_error(lang: str, message: str) -> str:
    """A refused form's message in ``lang`` when it is a known one; as it comes otherwise."""
    pair = FORM_ERRORS.get(message)
    if pair is not None:
        return pair[1] if lang == "ja" else pair[0]
    if lang == "ja":
        for english, japanese in VALIDATION.values():
            pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+)", re.escape(english)) + "$"
            found = re.match(pattern, message)
            if found is not None:
                return japanese.format(**found.groupdict())
    return message


def day_label(lang: str, day: date) -> str:
    """A day as the pages show it: 12/03 (水) or 12/03 (Wed)."""
    return f"{day:%m/%d} ({label(lang, 'weekday', day.weekday())})"


def pick_language(chosen: str | None, user_language: str | None, accept: str, default: str) -> str:
    """The language the person chose, else their account's, else the browser's first known, else default."""
    for candidate in (chosen, user_language):
        if candidate in LANGUAGES:
            return candidate
    for part in accept.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return default
