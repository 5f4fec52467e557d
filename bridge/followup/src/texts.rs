//! What the bridge says for follow-up: reminders, answers to commands and `/status` lines, in
//! the partnership's language where we have the sentence (see [`LANGUAGES`]), in English for
//! any other code.
//!
//! Readers are nodal officers of city governments, in their own mail or chat client: sentences
//! are short, polite and plain, with no emoji. Command words (`/close`, `/snooze 3d`,
//! `/done ID`) stay literal in every language, since that is what the officer types back.
//! Every value (subject, city names, times, ids) arrives already formatted by the caller and is
//! put in as it is.
//!
//! Arabic is written right to left, and a left-to-right value inside it (a Latin city name, a
//! date, `/snooze 3d`) can be shown with its parts reordered. There each value sits in a
//! first-strong isolate and each command in a left-to-right isolate (Unicode bidi isolates,
//! invisible); [`crate::command::parse`] ignores them when an officer copies a command back.
//!
//! Each function is one sentence, translated in one `match`, so a translator reviews all
//! languages of a sentence side by side; the tests check that no language was left out.

/// The languages we have the sentences in (ISO 639-1 codes).
pub const LANGUAGES: [&str; 12] = ["en", "zh", "ja", "ko", "id", "ms", "th", "vi", "ru", "fr", "es", "ar"];

/// The example duration every text offers for `/snooze`.
const SNOOZE: &str = "/snooze 3d";

/// To the member that owes a reply (reason `reply_overdue`). `waiting` are the names of the
/// cities waiting, already joined; `since` is a local time text.
pub fn reply_overdue(lang: &str, subject: &str, waiting: &str, since: &str) -> String {
    match lang {
        "zh" => format!(
            "提醒：{waiting} 自 {since} 起一直在等待贵方就“{subject}”的回复。请在此会话中回复；如无需回复，请发送 /close；如需稍后再提醒，请发送 {SNOOZE}。"
        ),
        "ja" => format!(
            "リマインダー：「{subject}」について、{waiting} が {since} からご返信をお待ちです。このスレッドでご返信ください。返信が不要な場合は /close、後日あらためて通知を希望される場合は {SNOOZE} とお送りください。"
        ),
        "ko" => format!(
            "알림: {waiting}에서 {since}부터 “{subject}”에 대한 회신을 기다리고 있습니다. 이 스레드에서 회신해 주십시오. 회신이 필요 없으면 /close 를, 나중에 다시 알림을 받으시려면 {SNOOZE} 를 보내 주십시오."
        ),
        "id" => format!(
            "Pengingat: balasan Anda mengenai “{subject}” telah ditunggu oleh {waiting} sejak {since}. Silakan membalas di percakapan ini, kirim /close jika tidak perlu dibalas, atau {SNOOZE} agar diingatkan kembali nanti."
        ),
        "ms" => format!(
            "Peringatan: balasan pihak anda mengenai “{subject}” telah dinantikan oleh {waiting} sejak {since}. Sila balas dalam perbualan ini, hantar /close jika balasan tidak diperlukan, atau {SNOOZE} untuk diingatkan semula kemudian."
        ),
        "th" => format!(
            "แจ้งเตือน: {waiting} รอการตอบกลับจากท่านในเรื่อง “{subject}” ตั้งแต่ {since} กรุณาตอบกลับในการสนทนานี้ หากไม่จำเป็นต้องตอบ กรุณาส่ง /close หรือส่ง {SNOOZE} เพื่อให้แจ้งเตือนอีกครั้งในภายหลัง"
        ),
        "vi" => format!(
            "Lời nhắc: {waiting} đang chờ phản hồi của quý vị về “{subject}” từ {since}. Vui lòng trả lời trong cuộc trao đổi này, gửi /close nếu không cần trả lời, hoặc gửi {SNOOZE} để được nhắc lại sau."
        ),
        "ru" => format!(
            "Напоминание: с {since} ожидается ваш ответ в теме «{subject}». Ответа ждут: {waiting}. Пожалуйста, ответьте в этой переписке; если ответ не нужен, отправьте /close, а чтобы получить напоминание позже — {SNOOZE}."
        ),
        "fr" => format!(
            "Rappel : votre réponse au sujet de « {subject} » est attendue par {waiting} depuis {since}. Merci de répondre dans ce fil, d'envoyer /close si aucune réponse n'est nécessaire, ou {SNOOZE} pour recevoir un nouveau rappel plus tard."
        ),
        "es" => format!(
            "Recordatorio: desde {since} hay una respuesta suya pendiente en «{subject}», esperada por {waiting}. Por favor, responda en este hilo, envíe /close si no hace falta responder, o {SNOOZE} para recibir un nuevo aviso más adelante."
        ),
        "ar" => {
            let (subject, waiting, since) = (iso(subject), iso(waiting), iso(since));
            let (close, snooze) = (ltr("/close"), ltr(SNOOZE));
            format!(
                "تذكير: تنتظر {waiting} ردّكم بشأن «{subject}» منذ {since}. يُرجى الرد في هذه المحادثة، أو إرسال {close} إذا لم يكن الرد ضروريًا، أو {snooze} لتلقي تذكير لاحقًا."
            )
        }
        _ => format!(
            "Reminder: your reply in “{subject}” has been awaited by {waiting} since {since}. Please reply in this thread, answer /close if no reply is needed, or {SNOOZE} to be reminded later."
        ),
    }
}

/// To the member(s) waiting, when the window has passed a second time (reason
/// `waiting_overdue`). `owed_by` is the name of the city that owes the reply.
pub fn waiting_overdue(lang: &str, subject: &str, owed_by: &str, since: &str) -> String {
    match lang {
        "zh" => format!("{owed_by} 尚未就“{subject}”作出回复（自 {since} 起等待）。系统已再次提醒对方。"),
        "ja" => format!(
            "「{subject}」について、{owed_by} からまだ返信がありません（{since} から返信待ち）。先方には改めてリマインダーをお送りしました。"
        ),
        "ko" => format!(
            "{owed_by}에서 아직 “{subject}”에 회신하지 않았습니다({since}부터 대기 중). 상대측에 다시 알림을 보냈습니다."
        ),
        "id" => format!(
            "{owed_by} belum membalas “{subject}” (ditunggu sejak {since}). Pengingat telah dikirim kembali kepada mereka."
        ),
        "ms" => format!(
            "{owed_by} masih belum membalas “{subject}” (dinantikan sejak {since}). Peringatan telah dihantar semula kepada mereka."
        ),
        "th" => format!("{owed_by} ยังไม่ได้ตอบกลับในเรื่อง “{subject}” (รอตั้งแต่ {since}) ระบบได้แจ้งเตือนอีกฝ่ายอีกครั้งแล้ว"),
        "vi" => format!(
            "{owed_by} vẫn chưa trả lời về “{subject}” (đang chờ từ {since}). Hệ thống đã nhắc lại họ một lần nữa."
        ),
        "ru" => format!(
            "В теме «{subject}» пока нет ответа от участника {owed_by} (ожидание с {since}). Повторное напоминание отправлено."
        ),
        "fr" => format!(
            "{owed_by} n'a pas encore répondu au sujet de « {subject} » (en attente depuis {since}). Un nouveau rappel lui a été envoyé."
        ),
        "es" => format!(
            "{owed_by} aún no ha respondido en «{subject}» (en espera desde {since}). Se le ha enviado un nuevo recordatorio."
        ),
        "ar" => {
            let (subject, owed_by, since) = (iso(subject), iso(owed_by), iso(since));
            format!("لم تردّ {owed_by} بعدُ بشأن «{subject}» (في الانتظار منذ {since}). وقد أُرسل إليها تذكير جديد.")
        }
        _ => format!(
            "{owed_by} has not yet replied in “{subject}” (waiting since {since}). They have been reminded again."
        ),
    }
}

/// To the owner's contacts, before a deliverable falls due (reason `deliverable_due`).
pub fn deliverable_due(lang: &str, title: &str, id: &str, due: &str) -> String {
    match lang {
        "zh" => format!("提醒：交付成果“{title}”（{id}）的截止时间为 {due}。完成后，请发送 /done {id}。"),
        "ja" => format!(
            "リマインダー：成果物「{title}」（{id}）の期限は {due} です。完了しましたら /done {id} とお送りください。"
        ),
        "ko" => {
            format!("알림: 산출물 “{title}”({id})의 기한은 {due}입니다. 완료되면 다음과 같이 보내 주십시오: /done {id}")
        }
        "id" => {
            format!("Pengingat: keluaran “{title}” ({id}) jatuh tempo pada {due}. Setelah selesai, kirim /done {id}.")
        }
        "ms" => format!(
            "Peringatan: tarikh akhir hasil serahan “{title}” ({id}) ialah {due}. Apabila selesai, sila hantar /done {id}."
        ),
        "th" => format!("แจ้งเตือน: งานที่ต้องส่งมอบ “{title}” ({id}) มีกำหนดส่ง {due} เมื่อดำเนินการเสร็จแล้ว กรุณาส่ง /done {id}"),
        "vi" => format!(
            "Lời nhắc: sản phẩm bàn giao “{title}” ({id}) đến hạn vào {due}. Khi hoàn thành, vui lòng gửi /done {id}."
        ),
        "ru" => format!(
            "Напоминание: срок сдачи результата «{title}» ({id}) — {due}. Когда работа будет выполнена, отправьте /done {id}."
        ),
        "fr" => format!(
            "Rappel : le livrable « {title} » ({id}) arrive à échéance le {due}. Une fois qu'il est terminé, envoyez /done {id}."
        ),
        "es" => format!(
            "Recordatorio: el entregable «{title}» ({id}) vence el {due}. Cuando esté terminado, envíe /done {id}."
        ),
        "ar" => {
            let done = ltr(&format!("/done {id}"));
            let (title, id, due) = (iso(title), iso(id), iso(due));
            format!("تذكير: يحين موعد تسليم «{title}» ({id}) في {due}. عند الانتهاء منه، يُرجى إرسال {done}.")
        }
        _ => format!("Reminder: the deliverable “{title}” ({id}) is due on {due}. When it is done, answer /done {id}."),
    }
}

/// To the owner's contacts, once a deliverable is past due and not done (reason
/// `deliverable_overdue`).
pub fn deliverable_overdue(lang: &str, title: &str, id: &str, due: &str) -> String {
    match lang {
        "zh" => format!("交付成果“{title}”（{id}）已于 {due} 到期，目前尚未标记为完成。完成后，请发送 /done {id}。"),
        "ja" => format!(
            "成果物「{title}」（{id}）は {due} が期限でしたが、まだ完了として記録されていません。完了しましたら /done {id} とお送りください。"
        ),
        "ko" => format!(
            "산출물 “{title}”({id})의 기한({due})이 지났으나 아직 완료로 표시되지 않았습니다. 완료되면 다음과 같이 보내 주십시오: /done {id}"
        ),
        "id" => format!(
            "Keluaran “{title}” ({id}) telah jatuh tempo pada {due} dan belum ditandai selesai. Setelah selesai, kirim /done {id}."
        ),
        "ms" => format!(
            "Tarikh akhir hasil serahan “{title}” ({id}) ialah {due}, tetapi ia belum ditandakan sebagai selesai. Apabila selesai, sila hantar /done {id}."
        ),
        "th" => format!(
            "งานที่ต้องส่งมอบ “{title}” ({id}) เลยกำหนดส่ง {due} แล้ว และยังไม่ได้ระบุว่าเสร็จสิ้น เมื่อดำเนินการเสร็จแล้ว กรุณาส่ง /done {id}"
        ),
        "vi" => format!(
            "Sản phẩm bàn giao “{title}” ({id}) đã đến hạn vào {due} nhưng chưa được đánh dấu là hoàn thành. Khi hoàn thành, vui lòng gửi /done {id}."
        ),
        "ru" => format!(
            "Срок сдачи результата «{title}» ({id}) прошёл ({due}), но он ещё не отмечен как выполненный. Когда работа будет выполнена, отправьте /done {id}."
        ),
        "fr" => format!(
            "Le livrable « {title} » ({id}) était attendu le {due} et n'est pas encore marqué comme terminé. Une fois qu'il est terminé, envoyez /done {id}."
        ),
        "es" => format!(
            "El entregable «{title}» ({id}) vencía el {due} y aún no está marcado como terminado. Cuando esté terminado, envíe /done {id}."
        ),
        "ar" => {
            let done = ltr(&format!("/done {id}"));
            let (title, id, due) = (iso(title), iso(id), iso(due));
            format!(
                "انقضى موعد تسليم «{title}» ({id}) في {due}، ولم يُسجَّل بعدُ على أنه منجز. عند الانتهاء منه، يُرجى إرسال {done}."
            )
        }
        _ => format!(
            "The deliverable “{title}” ({id}) was due on {due} and is not marked as done yet. When it is done, answer /done {id}."
        ),
    }
}

/// Before a meeting (reason `meeting_due`).
pub fn meeting_due(lang: &str, title: &str, due: &str) -> String {
    match lang {
        "zh" => format!("提醒：会议“{title}”定于 {due} 举行。"),
        "ja" => format!("リマインダー：会議「{title}」は {due} に予定されています。"),
        "ko" => format!("알림: “{title}” 회의가 {due}에 예정되어 있습니다."),
        "id" => format!("Pengingat: rapat “{title}” dijadwalkan pada {due}."),
        "ms" => format!("Peringatan: mesyuarat “{title}” dijadualkan pada {due}."),
        "th" => format!("แจ้งเตือน: การประชุม “{title}” มีกำหนดจัดขึ้น {due}"),
        "vi" => format!("Lời nhắc: cuộc họp “{title}” được lên lịch vào {due}."),
        "ru" => format!("Напоминание: встреча «{title}» запланирована на {due}."),
        "fr" => format!("Rappel : la réunion « {title} » est prévue le {due}."),
        "es" => format!("Recordatorio: la reunión «{title}» está prevista para el {due}."),
        "ar" => {
            let (title, due) = (iso(title), iso(due));
            format!("تذكير: الاجتماع «{title}» مقرر في {due}.")
        }
        _ => format!("Reminder: the meeting “{title}” is scheduled for {due}."),
    }
}

/// What the bridge answers to a command, in the thread where it was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer<'a> {
    /// `/close` done: no more reminders for the conversation.
    Closed,
    /// `/reopen` done: reminders resume.
    Reopened,
    /// `/snooze` done; `until` is a local time text.
    Snoozed { until: &'a str },
    /// `/done` done.
    Done { title: &'a str },
    /// `/done` on a deliverable that was already done.
    AlreadyDone { title: &'a str },
    /// `/done` by someone who is not a contact of the owner city (`owner`, a city name).
    NotOwner { id: &'a str, owner: &'a str },
    /// `/done` with an id no deliverable of the partnership has.
    UnknownDeliverable { id: &'a str },
    /// A command from someone who is not a contact of a member city.
    NotAMember,
    /// A known command with wrong arguments; `usage` is [`crate::command::Parsed::Invalid`]'s.
    Invalid { usage: &'a str },
    /// `/status`: the lines from [`status_owes`] and [`status_deliverable`], shown under a
    /// heading. With no lines, the answer is [`Answer::NothingOwed`]'s.
    Status { lines: &'a [String] },
    /// `/status` when the city owes nothing.
    NothingOwed,
    /// `/who CITY [TOPIC]`: the contacts of `city` (a name) and how the asker's partnerships
    /// reach it, as `lines` from [`who_contact`] and [`who_channel`], under a heading that says
    /// what time it is there (`local`, a local time text) and whether that is working time.
    Who { city: &'a str, local: &'a str, working_now: bool, lines: &'a [String] },
    /// `/who CITY TOPIC` when no contact of `city` (a name; `id`, its id) lists `topic`.
    WhoNoTopic { city: &'a str, topic: &'a str, id: &'a str },
    /// `/who` naming no partner of the asker's city (`asked`, as typed). The same answer
    /// whether such a city exists elsewhere or not: nothing is told about non-partners.
    WhoNotAPartner { asked: &'a str },
}

/// The text of an answer to a command.
pub fn answer(lang: &str, a: &Answer<'_>) -> String {
    match *a {
        Answer::Closed => closed(lang),
        Answer::Reopened => reopened(lang),
        Answer::Snoozed { until } => snoozed(lang, until),
        Answer::Done { title } => done(lang, title),
        Answer::AlreadyDone { title } => already_done(lang, title),
        Answer::NotOwner { id, owner } => not_owner(lang, id, owner),
        Answer::UnknownDeliverable { id } => unknown_deliverable(lang, id),
        Answer::NotAMember => not_a_member(lang),
        Answer::Invalid { usage } => invalid(lang, usage),
        Answer::Status { lines: [] } | Answer::NothingOwed => nothing_owed(lang),
        Answer::Status { lines } => {
            let mut text = status_heading(lang);
            for line in lines {
                text.push_str("\n- ");
                text.push_str(line);
            }
            text
        }
        Answer::Who { city, local, working_now, lines } => {
            let mut text = who_heading(lang, city, local, working_now);
            for line in lines {
                text.push_str("\n- ");
                text.push_str(line);
            }
            text
        }
        Answer::WhoNoTopic { city, topic, id } => who_no_topic(lang, city, topic, id),
        Answer::WhoNotAPartner { asked } => who_not_a_partner(lang, asked),
    }
}

fn closed(lang: &str) -> String {
    let text = match lang {
        "zh" => "本会话已关闭，将不再发送提醒。如需重新开启，请发送 /reopen。",
        "ja" => {
            "この会話をクローズしました。今後リマインダーは送信されません。再開する場合は /reopen とお送りください。"
        }
        "ko" => "이 대화가 종료되어 더 이상 알림이 발송되지 않습니다. 다시 열려면 /reopen 을 보내 주십시오.",
        "id" => "Percakapan ini telah ditutup; tidak akan ada pengingat lagi. Kirim /reopen untuk membukanya kembali.",
        "ms" => {
            "Perbualan ini telah ditutup; tiada lagi peringatan akan dihantar. Hantar /reopen untuk membukanya semula."
        }
        "th" => "ปิดการสนทนานี้แล้ว และจะไม่มีการแจ้งเตือนอีก หากต้องการเปิดอีกครั้ง กรุณาส่ง /reopen",
        "vi" => "Cuộc trao đổi này đã được đóng; sẽ không còn lời nhắc nào nữa. Gửi /reopen để mở lại.",
        "ru" => {
            "Переписка закрыта, напоминания по ней больше не будут отправляться. Чтобы открыть её снова, отправьте /reopen."
        }
        "fr" => "Cette conversation est close ; aucun rappel ne sera plus envoyé. Envoyez /reopen pour la rouvrir.",
        "es" => {
            "Esta conversación está cerrada; no se enviarán más recordatorios. Envíe /reopen para volver a abrirla."
        }
        "ar" => {
            let reopen = ltr("/reopen");
            return format!("أُغلقت هذه المحادثة، ولن تُرسل تذكيرات أخرى بشأنها. لإعادة فتحها، يُرجى إرسال {reopen}.");
        }
        _ => "This conversation is closed; no more reminders will be sent for it. Answer /reopen to open it again.",
    };
    text.to_owned()
}

fn reopened(lang: &str) -> String {
    match lang {
        "zh" => "本会话已重新开启，提醒将恢复。",
        "ja" => "この会話を再開しました。リマインダーも再開されます。",
        "ko" => "이 대화가 다시 열렸습니다. 알림이 다시 발송됩니다.",
        "id" => "Percakapan ini dibuka kembali; pengingat akan dilanjutkan.",
        "ms" => "Perbualan ini telah dibuka semula; peringatan akan diteruskan.",
        "th" => "เปิดการสนทนานี้อีกครั้งแล้ว และจะกลับมาแจ้งเตือนตามปกติ",
        "vi" => "Cuộc trao đổi này đã được mở lại; lời nhắc sẽ tiếp tục.",
        "ru" => "Переписка снова открыта, напоминания возобновятся.",
        "fr" => "Cette conversation est rouverte ; les rappels reprennent.",
        "es" => "Esta conversación se ha vuelto a abrir; los recordatorios se reanudan.",
        "ar" => "أُعيد فتح هذه المحادثة، وستُستأنف التذكيرات.",
        _ => "This conversation is open again; reminders will resume.",
    }
    .to_owned()
}

fn snoozed(lang: &str, until: &str) -> String {
    match lang {
        "zh" => format!("本会话的提醒已暂停至 {until}。"),
        "ja" => format!("この会話のリマインダーを {until} まで一時停止しました。"),
        "ko" => format!("이 대화의 알림을 {until}까지 일시 중지했습니다."),
        "id" => format!("Pengingat untuk percakapan ini dijeda hingga {until}."),
        "ms" => format!("Peringatan untuk perbualan ini ditangguhkan sehingga {until}."),
        "th" => format!("หยุดการแจ้งเตือนของการสนทนานี้ชั่วคราวจนถึง {until}"),
        "vi" => format!("Lời nhắc cho cuộc trao đổi này được tạm dừng đến {until}."),
        "ru" => format!("Напоминания по этой переписке приостановлены до {until}."),
        "fr" => format!("Les rappels pour cette conversation sont suspendus jusqu'au {until}."),
        "es" => format!("Los recordatorios de esta conversación quedan en pausa hasta el {until}."),
        "ar" => format!("أُوقفت التذكيرات الخاصة بهذه المحادثة مؤقتًا حتى {}.", iso(until)),
        _ => format!("Reminders for this conversation are paused until {until}."),
    }
}

fn done(lang: &str, title: &str) -> String {
    match lang {
        "zh" => format!("谢谢。“{title}”已标记为完成。"),
        "ja" => format!("ありがとうございます。「{title}」を完了として記録しました。"),
        "ko" => format!("감사합니다. 완료로 표시했습니다: “{title}”"),
        "id" => format!("Terima kasih. “{title}” telah ditandai selesai."),
        "ms" => format!("Terima kasih. “{title}” telah ditandakan sebagai selesai."),
        "th" => format!("ขอขอบคุณ ได้บันทึกว่า “{title}” เสร็จสิ้นแล้ว"),
        "vi" => format!("Xin cảm ơn. “{title}” đã được đánh dấu là hoàn thành."),
        "ru" => format!("Спасибо. Результат «{title}» отмечен как выполненный."),
        "fr" => format!("Merci. Le livrable « {title} » est marqué comme terminé."),
        "es" => format!("Gracias. El entregable «{title}» se ha marcado como terminado."),
        "ar" => format!("شكرًا لكم. تم تسجيل «{}» على أنه منجز.", iso(title)),
        _ => format!("Thank you. “{title}” is marked as done."),
    }
}

fn already_done(lang: &str, title: &str) -> String {
    match lang {
        "zh" => format!("“{title}”此前已标记为完成。"),
        "ja" => format!("「{title}」はすでに完了として記録されています。"),
        "ko" => format!("이미 완료로 표시되어 있습니다: “{title}”"),
        "id" => format!("“{title}” sudah ditandai selesai sebelumnya."),
        "ms" => format!("“{title}” telah pun ditandakan sebagai selesai sebelum ini."),
        "th" => format!("“{title}” ได้รับการบันทึกว่าเสร็จสิ้นไปแล้ว"),
        "vi" => format!("“{title}” đã được đánh dấu là hoàn thành từ trước."),
        "ru" => format!("Результат «{title}» уже был отмечен как выполненный."),
        "fr" => format!("Le livrable « {title} » était déjà marqué comme terminé."),
        "es" => format!("El entregable «{title}» ya estaba marcado como terminado."),
        "ar" => format!("سبق تسجيل «{}» على أنه منجز.", iso(title)),
        _ => format!("“{title}” was already marked as done."),
    }
}

fn not_owner(lang: &str, id: &str, owner: &str) -> String {
    match lang {
        "zh" => format!("只有 {owner} 的联系人可以将 {id} 标记为完成。"),
        "ja" => format!("{id} を完了として記録できるのは {owner} の担当者のみです。"),
        "ko" => format!("{id}의 완료 표시는 {owner}의 담당자만 할 수 있습니다."),
        "id" => format!("Hanya narahubung {owner} yang dapat menandai {id} sebagai selesai."),
        "ms" => format!("Hanya pegawai perhubungan {owner} boleh menandakan {id} sebagai selesai."),
        "th" => format!("เฉพาะผู้ประสานงานของ {owner} เท่านั้นที่สามารถระบุว่า {id} เสร็จสิ้นแล้ว"),
        "vi" => format!("Chỉ đầu mối liên hệ của {owner} mới có thể đánh dấu {id} là hoàn thành."),
        "ru" => format!("Отметить {id} как выполненный могут только контактные лица участника {owner}."),
        "fr" => format!("Seuls les contacts de {owner} peuvent marquer {id} comme terminé."),
        "es" => format!("Solo los contactos de {owner} pueden marcar {id} como terminado."),
        "ar" => {
            let (id, owner) = (iso(id), iso(owner));
            format!("لا يمكن تسجيل {id} على أنه منجز إلا من قِبل جهات الاتصال لدى {owner}.")
        }
        _ => format!("Only the contacts of {owner} can mark {id} as done."),
    }
}

fn unknown_deliverable(lang: &str, id: &str) -> String {
    match lang {
        "zh" => format!("本合作关系中没有编号为 {id} 的交付成果。发送 /status 可查看贵方的待办事项。"),
        "ja" => format!(
            "このパートナーシップに ID が {id} の成果物はありません。/status とお送りいただくと、貴市の未完了事項を確認できます。"
        ),
        "ko" => format!(
            "이 파트너십에 ID가 {id}인 산출물이 없습니다. /status 를 보내 주시면 귀 도시의 미완료 항목을 확인할 수 있습니다."
        ),
        "id" => format!(
            "Tidak ada keluaran dengan ID {id} dalam kemitraan ini. Kirim /status untuk melihat hal yang masih terbuka bagi kota Anda."
        ),
        "ms" => format!(
            "Tiada hasil serahan dengan ID {id} dalam perkongsian ini. Hantar /status untuk melihat perkara yang belum selesai bagi bandar anda."
        ),
        "th" => format!("ไม่พบงานที่ต้องส่งมอบรหัส {id} ในความร่วมมือนี้ ส่ง /status เพื่อดูรายการที่ยังค้างอยู่ของเมืองท่าน"),
        "vi" => format!(
            "Không có sản phẩm bàn giao nào có mã {id} trong quan hệ đối tác này. Gửi /status để xem các việc còn mở của thành phố quý vị."
        ),
        "ru" => format!(
            "В этом партнёрстве нет результата с идентификатором {id}. Отправьте /status, чтобы увидеть открытые вопросы вашего города."
        ),
        "fr" => format!(
            "Aucun livrable ne porte l'identifiant {id} dans ce partenariat. Envoyez /status pour voir les points en cours de votre ville."
        ),
        "es" => format!(
            "No hay ningún entregable con el identificador {id} en esta asociación. Envíe /status para ver los asuntos pendientes de su ciudad."
        ),
        "ar" => {
            let (id, status) = (iso(id), ltr("/status"));
            format!("لا يوجد في هذه الشراكة بند تسليم بالمعرّف {id}. أرسلوا {status} للاطلاع على البنود المفتوحة لمدينتكم.")
        }
        _ => format!(
            "There is no deliverable with the id {id} in this partnership. Answer /status to see your city's open items."
        ),
    }
}

fn not_a_member(lang: &str) -> String {
    match lang {
        "zh" => "只有本合作关系成员城市的联系人才能使用命令。",
        "ja" => "コマンドは、このパートナーシップに参加している都市の担当者のみ使用できます。",
        "ko" => "명령은 이 파트너십 회원 도시의 담당자만 사용할 수 있습니다.",
        "id" => "Perintah hanya dapat digunakan oleh narahubung kota anggota kemitraan ini.",
        "ms" => "Arahan hanya boleh digunakan oleh pegawai perhubungan bandar anggota perkongsian ini.",
        "th" => "คำสั่งใช้ได้เฉพาะผู้ประสานงานของเมืองสมาชิกในความร่วมมือนี้เท่านั้น",
        "vi" => "Chỉ đầu mối liên hệ của các thành phố thành viên trong quan hệ đối tác này mới có thể dùng lệnh.",
        "ru" => "Команды могут использовать только контактные лица городов — участников этого партнёрства.",
        "fr" => "Seuls les contacts des villes membres de ce partenariat peuvent utiliser les commandes.",
        "es" => "Solo los contactos de las ciudades miembro de esta asociación pueden usar comandos.",
        "ar" => "لا يمكن استخدام الأوامر إلا لجهات الاتصال في المدن الأعضاء في هذه الشراكة.",
        _ => "Commands can only be used by the contacts of this partnership's member cities.",
    }
    .to_owned()
}

fn invalid(lang: &str, usage: &str) -> String {
    match lang {
        "zh" => format!("无法识别该命令（{usage}）。"),
        "ja" => format!("コマンドを認識できませんでした（{usage}）。"),
        "ko" => format!("명령을 이해하지 못했습니다({usage})."),
        "id" => format!("Perintah tidak dapat dipahami ({usage})."),
        "ms" => format!("Arahan tidak dapat difahami ({usage})."),
        "th" => format!("ระบบไม่เข้าใจคำสั่งนี้ ({usage})"),
        "vi" => format!("Lệnh không hợp lệ ({usage})."),
        "ru" => format!("Команда не распознана ({usage})."),
        "fr" => format!("Commande non comprise ({usage})."),
        "es" => format!("No se ha entendido el comando ({usage})."),
        "ar" => format!("تعذّر فهم الأمر ({}).", ltr(usage)),
        _ => format!("This command was not understood ({usage})."),
    }
}

/// The first line of the `/status` answer, above the status lines.
fn status_heading(lang: &str) -> String {
    match lang {
        "zh" => "贵方在本合作关系中的待办事项：",
        "ja" => "このパートナーシップにおける貴市の未完了事項：",
        "ko" => "이 파트너십에서 귀 도시의 미완료 항목:",
        "id" => "Hal yang masih terbuka bagi kota Anda dalam kemitraan ini:",
        "ms" => "Perkara yang belum selesai bagi bandar anda dalam perkongsian ini:",
        "th" => "รายการที่ยังค้างอยู่ของเมืองท่านในความร่วมมือนี้:",
        "vi" => "Các việc còn mở của thành phố quý vị trong quan hệ đối tác này:",
        "ru" => "Открытые вопросы вашего города в этом партнёрстве:",
        "fr" => "Points en cours pour votre ville dans ce partenariat :",
        "es" => "Asuntos pendientes de su ciudad en esta asociación:",
        "ar" => "البنود المفتوحة لمدينتكم في هذه الشراكة:",
        _ => "Open items for your city in this partnership:",
    }
    .to_owned()
}

fn nothing_owed(lang: &str) -> String {
    match lang {
        "zh" => "贵方在本合作关系中没有待回复的消息，也没有未完成的交付成果。",
        "ja" => "このパートナーシップにおいて、貴市が返信すべきメッセージや未完了の成果物はありません。",
        "ko" => "이 파트너십에서 귀 도시가 회신해야 할 메시지나 미완료 산출물이 없습니다.",
        "id" => "Tidak ada balasan yang perlu dikirim atau keluaran yang masih terbuka bagi kota Anda dalam kemitraan ini.",
        "ms" => "Tiada balasan yang perlu dihantar atau hasil serahan yang belum selesai bagi bandar anda dalam perkongsian ini.",
        "th" => "ในความร่วมมือนี้ เมืองของท่านไม่มีข้อความที่ต้องตอบกลับหรืองานที่ต้องส่งมอบค้างอยู่",
        "vi" => "Trong quan hệ đối tác này, thành phố quý vị không có tin nhắn nào cần trả lời và không có sản phẩm bàn giao nào còn mở.",
        "ru" => "У вашего города в этом партнёрстве нет ни неотвеченных сообщений, ни открытых результатов.",
        "fr" => "Votre ville n'a ni réponse en attente ni livrable en cours dans ce partenariat.",
        "es" => "Su ciudad no tiene respuestas ni entregables pendientes en esta asociación.",
        "ar" => "لا توجد على مدينتكم ردود مستحقة ولا بنود تسليم مفتوحة في هذه الشراكة.",
        _ => "Your city owes no reply and has no open deliverable in this partnership.",
    }
    .to_owned()
}

/// The first line of the `/who` answer, above the contact and channel lines: whose contacts,
/// their local time now, and whether that is within their working time.
fn who_heading(lang: &str, city: &str, local: &str, working_now: bool) -> String {
    match (lang, working_now) {
        ("zh", true) => format!("{city} 的联系人如下。当地时间为 {local}，目前是工作时间："),
        ("zh", false) => format!("{city} 的联系人如下。当地时间为 {local}，目前不是工作时间："),
        ("ja", true) => format!("{city} の担当者は以下のとおりです。現地時間は {local} で、現在は勤務時間内です："),
        ("ja", false) => format!("{city} の担当者は以下のとおりです。現地時間は {local} で、現在は勤務時間外です："),
        ("ko", true) => format!("{city}의 담당자는 다음과 같습니다. 현지 시각은 {local}이며 현재 근무 시간입니다:"),
        ("ko", false) => {
            format!("{city}의 담당자는 다음과 같습니다. 현지 시각은 {local}이며 현재 근무 시간이 아닙니다:")
        }
        ("id", true) => format!("Narahubung di {city}. Waktu setempat saat ini {local}, dalam jam kerja:"),
        ("id", false) => format!("Narahubung di {city}. Waktu setempat saat ini {local}, di luar jam kerja:"),
        ("ms", true) => format!("Pegawai perhubungan di {city}. Waktu tempatan kini {local}, dalam waktu bekerja:"),
        ("ms", false) => format!("Pegawai perhubungan di {city}. Waktu tempatan kini {local}, di luar waktu bekerja:"),
        ("th", true) => format!("ผู้ประสานงานของ {city} เวลาท้องถิ่นขณะนี้คือ {local} ซึ่งอยู่ในเวลาทำการ:"),
        ("th", false) => format!("ผู้ประสานงานของ {city} เวลาท้องถิ่นขณะนี้คือ {local} ซึ่งอยู่นอกเวลาทำการ:"),
        ("vi", true) => format!("Đầu mối liên hệ tại {city}. Giờ địa phương hiện là {local}, trong giờ làm việc:"),
        ("vi", false) => format!("Đầu mối liên hệ tại {city}. Giờ địa phương hiện là {local}, ngoài giờ làm việc:"),
        ("ru", true) => format!("Контактные лица: {city}. Местное время сейчас {local}, рабочее время:"),
        ("ru", false) => format!("Контактные лица: {city}. Местное время сейчас {local}, нерабочее время:"),
        ("fr", true) => format!("Contacts à {city}. Heure locale : {local}, pendant les heures de travail :"),
        ("fr", false) => format!("Contacts à {city}. Heure locale : {local}, en dehors des heures de travail :"),
        ("es", true) => format!("Contactos en {city}. Hora local: {local}, dentro del horario laboral:"),
        ("es", false) => format!("Contactos en {city}. Hora local: {local}, fuera del horario laboral:"),
        ("ar", _) => {
            let (city, local) = (iso(city), iso(local));
            if working_now {
                format!("جهات الاتصال في {city}. الوقت المحلي الآن {local}، ضمن ساعات العمل:")
            } else {
                format!("جهات الاتصال في {city}. الوقت المحلي الآن {local}، خارج ساعات العمل:")
            }
        }
        (_, true) => format!("Contacts in {city}. Local time: {local}, within working hours:"),
        (_, false) => format!("Contacts in {city}. Local time: {local}, outside working hours:"),
    }
}

/// A `/who` line for one contact: name, role, the languages they write in (codes, already
/// joined) and the topics they can be asked about (already joined; empty: none listed).
pub fn who_contact(lang: &str, name: &str, role: &str, languages: &str, topics: &str) -> String {
    let label = match lang {
        "zh" => "主题",
        "ja" => "担当分野",
        "ko" => "담당 분야",
        "id" => "topik",
        "ms" => "bidang",
        "th" => "หัวข้อ",
        "vi" => "chủ đề",
        "ru" => "темы",
        "fr" => "sujets",
        "es" => "temas",
        "ar" => "المواضيع",
        _ => "topics",
    };
    let mut details: Vec<String> = Vec::new();
    if !languages.is_empty() {
        details.push(if lang == "ar" { iso(languages) } else { languages.to_owned() });
    }
    if !topics.is_empty() {
        details.push(match lang {
            "zh" | "ja" => format!("{label}：{topics}"),
            "fr" => format!("{label} : {topics}"),
            "ar" => format!("{label}: {}", iso(topics)),
            _ => format!("{label}: {topics}"),
        });
    }
    match lang {
        "zh" | "ja" => {
            let (comma, semicolon) = if lang == "zh" { ("，", "；") } else { ("、", "／") };
            let details = if details.is_empty() { String::new() } else { format!("（{}）", details.join(semicolon)) };
            format!("{name}{comma}{role}{details}")
        }
        "ar" => {
            let details = if details.is_empty() { String::new() } else { format!(" ({})", details.join("؛ ")) };
            format!("{}، {}{details}", iso(name), iso(role))
        }
        _ => {
            let sep = if lang == "fr" { " ; " } else { "; " };
            let details = if details.is_empty() { String::new() } else { format!(" ({})", details.join(sep)) };
            format!("{name}, {role}{details}")
        }
    }
}

/// A `/who` line for one partnership the asker's city shares with the city asked about: the
/// channel that city agreed on in it (`email`, `matrix` or `webhook`, as in the config).
pub fn who_channel(lang: &str, partnership: &str, channel: &str) -> String {
    match lang {
        "zh" => format!("在合作关系 {partnership} 中，对方约定的沟通渠道为 {channel}。"),
        "ja" => format!("パートナーシップ {partnership} で先方が合意した連絡手段は {channel} です。"),
        "ko" => format!("파트너십 {partnership}에서 상대측이 합의한 연락 채널은 {channel}입니다."),
        "id" => format!("Dalam kemitraan {partnership}, saluran yang mereka sepakati adalah {channel}."),
        "ms" => format!("Dalam perkongsian {partnership}, saluran yang mereka persetujui ialah {channel}."),
        "th" => format!("ในความร่วมมือ {partnership} ช่องทางที่อีกฝ่ายตกลงไว้คือ {channel}"),
        "vi" => format!("Trong quan hệ đối tác {partnership}, kênh mà họ đã thống nhất là {channel}."),
        "ru" => format!("В партнёрстве {partnership} согласованный ими канал связи — {channel}."),
        "fr" => format!("Dans le partenariat {partnership}, leur canal convenu est {channel}."),
        "es" => format!("En la asociación {partnership}, su canal acordado es {channel}."),
        "ar" => {
            let (partnership, channel) = (iso(partnership), iso(channel));
            format!("في الشراكة {partnership}، قناة التواصل التي اتفقوا عليها هي {channel}.")
        }
        _ => format!("In the partnership {partnership}, their agreed channel is {channel}."),
    }
}

fn who_no_topic(lang: &str, city: &str, topic: &str, id: &str) -> String {
    let who = format!("/who {id}");
    match lang {
        "zh" => format!("{city} 没有负责“{topic}”主题的联系人。发送 {who} 可查看该市的全部联系人。"),
        "ja" => format!(
            "{city} には「{topic}」を担当分野とする担当者が登録されていません。{who} とお送りいただくと、すべての担当者を確認できます。"
        ),
        "ko" => format!(
            "{city}에는 “{topic}” 분야를 담당하는 담당자가 없습니다. 전체 담당자를 보려면 {who} 를 보내 주십시오."
        ),
        "id" => format!(
            "Tidak ada narahubung di {city} untuk topik “{topic}”. Kirim {who} untuk melihat semua narahubungnya."
        ),
        "ms" => format!(
            "Tiada pegawai perhubungan di {city} bagi bidang “{topic}”. Hantar {who} untuk melihat semua pegawai perhubungannya."
        ),
        "th" => format!("ไม่มีผู้ประสานงานของ {city} ที่ดูแลหัวข้อ “{topic}” ส่ง {who} เพื่อดูผู้ประสานงานทั้งหมด"),
        "vi" => format!(
            "Không có đầu mối liên hệ nào tại {city} phụ trách chủ đề “{topic}”. Gửi {who} để xem tất cả đầu mối liên hệ."
        ),
        "ru" => format!("Контактного лица по теме «{topic}» нет: {city}. Отправьте {who}, чтобы увидеть все контакты."),
        "fr" => format!(
            "Aucun contact à {city} n'est indiqué pour le sujet « {topic} ». Envoyez {who} pour voir tous ses contacts."
        ),
        "es" => format!(
            "Ningún contacto de {city} figura para el tema «{topic}». Envíe {who} para ver todos sus contactos."
        ),
        "ar" => {
            let (city, topic, who) = (iso(city), iso(topic), ltr(&who));
            format!("لا توجد في {city} جهة اتصال مسؤولة عن موضوع «{topic}». أرسلوا {who} لعرض جميع جهات الاتصال.")
        }
        _ => format!("No contact in {city} lists the topic “{topic}”. Answer {who} to see all its contacts."),
    }
}

fn who_not_a_partner(lang: &str, asked: &str) -> String {
    match lang {
        "zh" => format!("贵市的合作伙伴中没有名为“{asked}”的城市。联系人信息仅在合作伙伴之间共享。"),
        "ja" => format!(
            "貴市のパートナーに「{asked}」という名称の都市はありません。担当者の情報はパートナー間でのみ共有されます。"
        ),
        "ko" => {
            format!("귀 도시의 파트너 중에 “{asked}”(이)라는 도시가 없습니다. 담당자 정보는 파트너 간에만 공유됩니다.")
        }
        "id" => format!(
            "Tidak ada mitra kota Anda yang bernama “{asked}”. Informasi narahubung hanya dibagikan antarmitra."
        ),
        "ms" => format!(
            "Tiada rakan kongsi bandar anda yang bernama “{asked}”. Maklumat pegawai perhubungan hanya dikongsi antara rakan kongsi."
        ),
        "th" => format!("ไม่มีเมืองพันธมิตรของท่านที่ชื่อ “{asked}” ข้อมูลผู้ประสานงานจะแบ่งปันระหว่างพันธมิตรเท่านั้น"),
        "vi" => format!(
            "Không có đối tác nào của thành phố quý vị có tên “{asked}”. Thông tin đầu mối liên hệ chỉ được chia sẻ giữa các đối tác."
        ),
        "ru" => format!(
            "Среди партнёров вашего города нет участника с названием «{asked}». Контакты доступны только партнёрам."
        ),
        "fr" => format!(
            "Aucun partenaire de votre ville ne s'appelle « {asked} ». Les contacts ne sont communiqués qu'entre partenaires."
        ),
        "es" => format!("Ningún socio de su ciudad se llama «{asked}». Los contactos solo se comparten entre socios."),
        "ar" => {
            format!("لا يوجد بين شركاء مدينتكم من يحمل اسم «{}». لا تُشارَك بيانات جهات الاتصال إلا بين الشركاء.", iso(asked))
        }
        _ => format!(
            "None of your city's partners is called “{asked}”. The bridge shares contacts between partners only."
        ),
    }
}

/// A `/status` line for a conversation where the asking city owes a reply; `waiting` are the
/// names of the cities waiting, `due` when the reply was due (a local time text).
pub fn status_owes(lang: &str, subject: &str, waiting: &str, due: &str) -> String {
    match lang {
        "zh" => format!("“{subject}”：{waiting} 等待贵方回复，回复期限 {due}"),
        "ja" => format!("「{subject}」：{waiting} が返信待ち、期限 {due}"),
        "ko" => format!("“{subject}”: {waiting}에서 회신 대기 중, 기한 {due}"),
        "id" => format!("“{subject}”: balasan ditunggu oleh {waiting}, tenggat {due}"),
        "ms" => format!("“{subject}”: balasan dinantikan oleh {waiting}, tarikh akhir {due}"),
        "th" => format!("“{subject}”: {waiting} รอการตอบกลับ กำหนด {due}"),
        "vi" => format!("“{subject}”: {waiting} đang chờ phản hồi, hạn {due}"),
        "ru" => format!("«{subject}»: ожидается ответ (ждут: {waiting}), срок — {due}"),
        "fr" => format!("« {subject} » : réponse attendue par {waiting}, échéance {due}"),
        "es" => format!("«{subject}»: respuesta esperada por {waiting}, plazo {due}"),
        "ar" => {
            let (subject, waiting, due) = (iso(subject), iso(waiting), iso(due));
            format!("«{subject}»: تنتظر {waiting} ردّكم، والموعد المحدد {due}")
        }
        _ => format!("“{subject}”: reply awaited by {waiting}, due {due}"),
    }
}

/// A `/status` line for a deliverable of the asking city that is not done yet.
pub fn status_deliverable(lang: &str, title: &str, id: &str, due: &str, overdue: bool) -> String {
    match (lang, overdue) {
        ("zh", false) => format!("“{title}”（{id}）：截止 {due}"),
        ("zh", true) => format!("“{title}”（{id}）：已逾期（截止 {due}）"),
        ("ja", false) => format!("「{title}」（{id}）：期限 {due}"),
        ("ja", true) => format!("「{title}」（{id}）：期限超過（期限 {due}）"),
        ("ko", false) => format!("“{title}”({id}): 기한 {due}"),
        ("ko", true) => format!("“{title}”({id}): 기한 경과({due})"),
        ("id", false) => format!("“{title}” ({id}): tenggat {due}"),
        ("id", true) => format!("“{title}” ({id}): terlambat (tenggat {due})"),
        ("ms", false) => format!("“{title}” ({id}): tarikh akhir {due}"),
        ("ms", true) => format!("“{title}” ({id}): lewat (tarikh akhir {due})"),
        ("th", false) => format!("“{title}” ({id}): กำหนดส่ง {due}"),
        ("th", true) => format!("“{title}” ({id}): เลยกำหนดแล้ว (กำหนดส่ง {due})"),
        ("vi", false) => format!("“{title}” ({id}): hạn {due}"),
        ("vi", true) => format!("“{title}” ({id}): quá hạn (hạn {due})"),
        ("ru", false) => format!("«{title}» ({id}): срок — {due}"),
        ("ru", true) => format!("«{title}» ({id}): просрочено (срок — {due})"),
        ("fr", false) => format!("« {title} » ({id}) : échéance {due}"),
        ("fr", true) => format!("« {title} » ({id}) : en retard (échéance {due})"),
        ("es", false) => format!("«{title}» ({id}): plazo {due}"),
        ("es", true) => format!("«{title}» ({id}): vencido (plazo {due})"),
        ("ar", _) => {
            let (title, id, due) = (iso(title), iso(id), iso(due));
            if overdue {
                format!("«{title}» ({id}): متأخر (موعد التسليم {due})")
            } else {
                format!("«{title}» ({id}): موعد التسليم {due}")
            }
        }
        (_, false) => format!("“{title}” ({id}): due {due}"),
        (_, true) => format!("“{title}” ({id}): overdue (due {due})"),
    }
}

/// The first line of a partnership's digest: a summary for `period_text` (the period, as the
/// recipient reads it).
pub fn digest_heading(lang: &str, partnership: &str, period_text: &str) -> String {
    match lang {
        "zh" => format!("合作关系 {partnership} 摘要（{period_text}）："),
        "ja" => format!("パートナーシップ {partnership} のまとめ（{period_text}）："),
        "ko" => format!("파트너십 {partnership} 요약 ({period_text}):"),
        "id" => format!("Ringkasan kemitraan {partnership} ({period_text}):"),
        "ms" => format!("Ringkasan perkongsian {partnership} ({period_text}):"),
        "th" => format!("สรุปความร่วมมือ {partnership} ({period_text}):"),
        "vi" => format!("Tóm tắt quan hệ đối tác {partnership} ({period_text}):"),
        "ru" => format!("Сводка по партнёрству {partnership} ({period_text}):"),
        "fr" => format!("Résumé du partenariat {partnership} ({period_text}) :"),
        "es" => format!("Resumen de la asociación {partnership} ({period_text}):"),
        "ar" => {
            let (partnership, period_text) = (iso(partnership), iso(period_text));
            format!("ملخص الشراكة {partnership} ({period_text}):")
        }
        _ => format!("Summary of the partnership {partnership} ({period_text}):"),
    }
}

/// A digest line for an open thread: `owed_by` owes `waiting` a reply since `since`.
pub fn digest_thread(lang: &str, subject: &str, owed_by: &str, waiting: &str, since: &str) -> String {
    match lang {
        "zh" => format!("“{subject}”：{waiting} 自 {since} 起等待 {owed_by} 回复"),
        "ja" => format!("「{subject}」：{waiting} が {since} から {owed_by} の返信待ち"),
        "ko" => format!("“{subject}”: {waiting}에서 {since}부터 {owed_by}의 회신을 기다리는 중"),
        "id" => format!("“{subject}”: {waiting} menunggu balasan dari {owed_by} sejak {since}"),
        "ms" => format!("“{subject}”: {waiting} menantikan balasan daripada {owed_by} sejak {since}"),
        "th" => format!("“{subject}”: {waiting} รอการตอบกลับจาก {owed_by} ตั้งแต่ {since}"),
        "vi" => format!("“{subject}”: {waiting} đang chờ {owed_by} phản hồi từ {since}"),
        "ru" => format!("«{subject}»: ждут ответа от {owed_by} с {since} (ждут: {waiting})"),
        "fr" => format!("« {subject} » : {waiting} attend une réponse de {owed_by} depuis {since}"),
        "es" => format!("«{subject}»: {waiting} espera una respuesta de {owed_by} desde {since}"),
        "ar" => {
            let (subject, owed_by, waiting, since) = (iso(subject), iso(owed_by), iso(waiting), iso(since));
            format!("«{subject}»: تنتظر {waiting} ردّ {owed_by} منذ {since}")
        }
        _ => format!("“{subject}”: {waiting} has awaited a reply from {owed_by} since {since}"),
    }
}

/// A digest with nothing open and nothing due soon.
pub fn digest_nothing(lang: &str) -> String {
    match lang {
        "zh" => "目前没有待回复的会话，未来两周也没有到期事项。".to_string(),
        "ja" => "現在、返信待ちの会話はなく、今後2週間に期限を迎える項目もありません。".to_string(),
        "ko" => "현재 회신을 기다리는 대화가 없으며, 앞으로 2주 안에 마감되는 항목도 없습니다.".to_string(),
        "id" => {
            "Tidak ada percakapan yang menunggu balasan, dan tidak ada tenggat dalam dua minggu ke depan.".to_string()
        }
        "ms" => {
            "Tiada perbualan yang menantikan balasan, dan tiada tarikh akhir dalam dua minggu akan datang.".to_string()
        }
        "th" => "ขณะนี้ไม่มีการสนทนาที่รอการตอบกลับ และไม่มีกำหนดส่งใดในสองสัปดาห์ข้างหน้า".to_string(),
        "vi" => {
            "Hiện không có cuộc trao đổi nào đang chờ phản hồi và không có hạn chót nào trong hai tuần tới.".to_string()
        }
        "ru" => "Сейчас нет бесед, ожидающих ответа, и в ближайшие две недели нет сроков.".to_string(),
        "fr" => {
            "Aucune conversation n'attend de réponse, et rien n'arrive à échéance dans les deux prochaines semaines."
                .to_string()
        }
        "es" => "No hay conversaciones pendientes de respuesta ni plazos en las próximas dos semanas.".to_string(),
        "ar" => "لا توجد محادثات تنتظر ردًّا، ولا مواعيد نهائية خلال الأسبوعين القادمين.".to_string(),
        _ => "No conversation awaits a reply, and nothing is due in the next two weeks.".to_string(),
    }
}

/// A value inside Arabic text, in a first-strong isolate: shown in its own direction (a Latin
/// name left to right, an Arabic one right to left) without reordering the sentence around it.
fn iso(value: &str) -> String {
    format!("\u{2068}{value}\u{2069}")
}

/// A command inside Arabic text, in a left-to-right isolate, so `/snooze 3d` is not shown as
/// `3d /snooze` or with the slash at the wrong end.
fn ltr(command: &str) -> String {
    format!("\u{2066}{command}\u{2069}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{self, Command, Parsed};
    use std::collections::BTreeSet;

    const SUBJECT: &str = "Library exchange";
    const WAITING: &str = "Leeds and Bristol";
    const OWED_BY: &str = "Hangzhou";
    const SINCE: &str = "Mon 4 Jan 2027 09:00 (Europe/London)";
    const TITLE: &str = "Joint report";
    const ID: &str = "joint-report";
    const DUE: &str = "Fri 15 Jan 2027 23:59 (Asia/Shanghai)";
    const UNTIL: &str = "Thu 7 Jan 2027 09:00 (Europe/London)";
    const USAGE: &str = "usage: /snooze DURATION (at most 365d), e.g. /snooze 3d";
    const CITY: &str = "Kuala Lumpur";
    const CITY_ID: &str = "kuala-lumpur";
    const NAME: &str = "Nur Aisyah";
    const ROLE: &str = "Smart City Unit";
    const LANGS: &str = "ms, en";
    const TOPICS: &str = "smart-city";
    const CHANNEL: &str = "webhook";
    const ASKED: &str = "Atlantis";

    /// One sample text.
    struct Sample {
        /// Which function (and variant) made it.
        name: &'static str,
        text: String,
        /// The values it was given, which it must show.
        values: Vec<&'static str>,
        /// Commands (with their arguments) it must show.
        commands: Vec<String>,
    }

    fn sample(name: &'static str, text: String, values: &[&'static str], commands: &[&str]) -> Sample {
        Sample { name, text, values: values.to_vec(), commands: commands.iter().map(|c| c.to_string()).collect() }
    }

    /// Every sentence this module has, in one language.
    fn samples(lang: &str) -> Vec<Sample> {
        let lines = [status_owes(lang, SUBJECT, WAITING, DUE), status_deliverable(lang, TITLE, ID, DUE, true)];
        let done = format!("/done {ID}");
        let who_lines = [who_contact(lang, NAME, ROLE, LANGS, TOPICS), who_channel(lang, ID, CHANNEL)];
        let who = format!("/who {CITY_ID}");
        vec![
            sample(
                "reply_overdue",
                reply_overdue(lang, SUBJECT, WAITING, SINCE),
                &[SUBJECT, WAITING, SINCE],
                &["/close", "/snooze 3d"],
            ),
            sample("waiting_overdue", waiting_overdue(lang, SUBJECT, OWED_BY, SINCE), &[SUBJECT, OWED_BY, SINCE], &[]),
            sample("deliverable_due", deliverable_due(lang, TITLE, ID, DUE), &[TITLE, ID, DUE], &[&done]),
            sample("deliverable_overdue", deliverable_overdue(lang, TITLE, ID, DUE), &[TITLE, ID, DUE], &[&done]),
            sample("meeting_due", meeting_due(lang, TITLE, DUE), &[TITLE, DUE], &[]),
            sample("Closed", answer(lang, &Answer::Closed), &[], &["/reopen"]),
            sample("Reopened", answer(lang, &Answer::Reopened), &[], &[]),
            sample("Snoozed", answer(lang, &Answer::Snoozed { until: UNTIL }), &[UNTIL], &[]),
            sample("Done", answer(lang, &Answer::Done { title: TITLE }), &[TITLE], &[]),
            sample("AlreadyDone", answer(lang, &Answer::AlreadyDone { title: TITLE }), &[TITLE], &[]),
            sample("NotOwner", answer(lang, &Answer::NotOwner { id: ID, owner: OWED_BY }), &[ID, OWED_BY], &[]),
            sample("UnknownDeliverable", answer(lang, &Answer::UnknownDeliverable { id: ID }), &[ID], &["/status"]),
            sample("NotAMember", answer(lang, &Answer::NotAMember), &[], &[]),
            sample("Invalid", answer(lang, &Answer::Invalid { usage: USAGE }), &[USAGE], &[]),
            sample("Status", answer(lang, &Answer::Status { lines: &lines }), &[SUBJECT, TITLE, ID, DUE], &[]),
            sample("NothingOwed", answer(lang, &Answer::NothingOwed), &[], &[]),
            sample(
                "Who",
                answer(lang, &Answer::Who { city: CITY, local: SINCE, working_now: true, lines: &who_lines }),
                &[CITY, SINCE, NAME, ROLE, LANGS, TOPICS, ID, CHANNEL],
                &[],
            ),
            sample(
                "Who outside working hours",
                answer(lang, &Answer::Who { city: CITY, local: SINCE, working_now: false, lines: &who_lines }),
                &[CITY, SINCE, NAME],
                &[],
            ),
            sample(
                "WhoNoTopic",
                answer(lang, &Answer::WhoNoTopic { city: CITY, topic: TOPICS, id: CITY_ID }),
                &[CITY, TOPICS],
                &[&who],
            ),
            sample("WhoNotAPartner", answer(lang, &Answer::WhoNotAPartner { asked: ASKED }), &[ASKED], &[]),
            sample("who_contact", who_contact(lang, NAME, ROLE, LANGS, TOPICS), &[NAME, ROLE, LANGS, TOPICS], &[]),
            sample("who_channel", who_channel(lang, ID, CHANNEL), &[ID, CHANNEL], &[]),
            sample("status_owes", status_owes(lang, SUBJECT, WAITING, DUE), &[SUBJECT, WAITING, DUE], &[]),
            sample("status_deliverable", status_deliverable(lang, TITLE, ID, DUE, false), &[TITLE, ID, DUE], &[]),
            sample(
                "status_deliverable overdue",
                status_deliverable(lang, TITLE, ID, DUE, true),
                &[TITLE, ID, DUE],
                &[],
            ),
            sample("digest_heading", digest_heading(lang, ID, DUE), &[ID, DUE], &[]),
            sample(
                "digest_thread",
                digest_thread(lang, SUBJECT, OWED_BY, WAITING, SINCE),
                &[SUBJECT, OWED_BY, WAITING, SINCE],
                &[],
            ),
            sample("digest_nothing", digest_nothing(lang), &[], &[]),
        ]
    }

    /// The `/word`s a text names, so every language can be checked against the English.
    fn command_words(text: &str) -> BTreeSet<String> {
        text.match_indices('/')
            .map(|(at, _)| text[at + 1..].chars().take_while(char::is_ascii_lowercase).collect::<String>())
            .filter(|word| !word.is_empty())
            .map(|word| format!("/{word}"))
            .collect()
    }

    #[test]
    fn every_language_shows_the_values_and_the_commands() {
        for lang in LANGUAGES {
            for s in samples(lang) {
                let (name, text) = (s.name, &s.text);
                assert!(!text.trim().is_empty(), "{lang} {name}");
                for value in &s.values {
                    assert!(text.contains(value), "{lang} {name} lacks {value:?}: {text}");
                }
                for command in &s.commands {
                    assert!(text.contains(command.as_str()), "{lang} {name} lacks {command:?}: {text}");
                }
            }
        }
    }

    #[test]
    fn every_language_names_the_same_commands_as_the_english() {
        let english = samples("en");
        for s in &english {
            for command in &s.commands {
                let word = command.split(' ').next().unwrap();
                assert!(command_words(&s.text).contains(word), "en {} lacks {command}", s.name);
            }
        }
        for lang in LANGUAGES {
            for (s, en) in samples(lang).iter().zip(&english) {
                assert_eq!(command_words(&s.text), command_words(&en.text), "{lang} {}: {}", s.name, s.text);
            }
        }
    }

    #[test]
    fn every_language_has_its_own_sentence_for_every_text() {
        let english = samples("en");
        for lang in LANGUAGES.into_iter().filter(|&l| l != "en") {
            for (s, en) in samples(lang).iter().zip(&english) {
                assert_ne!(s.text, en.text, "{lang} {} is the English one", s.name);
            }
        }
    }

    #[test]
    fn the_languages_differ_from_each_other() {
        // A sentence pasted into the wrong arm would still differ from the English.
        for (i, a) in LANGUAGES.iter().enumerate() {
            for b in &LANGUAGES[i + 1..] {
                for (x, y) in samples(a).iter().zip(samples(b)) {
                    assert_ne!(x.text, y.text, "{a} and {b} say the same in {}", x.name);
                }
            }
        }
    }

    #[test]
    fn unknown_languages_fall_back_to_english() {
        let english = samples("en");
        for lang in ["", "xx", "de", "EN", "zh-CN", "english"] {
            for (s, en) in samples(lang).iter().zip(&english) {
                assert_eq!(s.text, en.text, "{lang:?} {}", s.name);
            }
        }
    }

    #[test]
    fn the_english_reads_as_specified() {
        assert_eq!(
            reply_overdue("en", SUBJECT, "Leeds", SINCE),
            "Reminder: your reply in “Library exchange” has been awaited by Leeds since Mon 4 Jan 2027 09:00 \
             (Europe/London). Please reply in this thread, answer /close if no reply is needed, or /snooze 3d \
             to be reminded later."
        );
        assert_eq!(
            deliverable_due("en", TITLE, ID, "15 Jan 2027"),
            "Reminder: the deliverable “Joint report” (joint-report) is due on 15 Jan 2027. When it is done, \
             answer /done joint-report."
        );
        assert_eq!(status_owes("en", "S", "Leeds", "5 Jan"), "“S”: reply awaited by Leeds, due 5 Jan");
        assert_eq!(status_deliverable("en", "T", "t", "5 Jan", true), "“T” (t): overdue (due 5 Jan)");
    }

    #[test]
    fn who_lists_contacts_and_channels_under_a_heading() {
        let lines = [
            who_contact("en", "Sato Hana", "International Exchange", "ja, en", "education, tourism"),
            who_contact("en", "Ito Yui", "Culture", "ja", ""),
            who_channel("en", "heritage-cities", "webhook"),
        ];
        let local = "Wed 6 Jan 2027 14:05 (Asia/Tokyo)";
        assert_eq!(
            answer("en", &Answer::Who { city: "Gifu", local, working_now: true, lines: &lines }),
            "Contacts in Gifu. Local time: Wed 6 Jan 2027 14:05 (Asia/Tokyo), within working hours:\n\
             - Sato Hana, International Exchange (ja, en; topics: education, tourism)\n\
             - Ito Yui, Culture (ja)\n\
             - In the partnership heritage-cities, their agreed channel is webhook."
        );
        assert_eq!(who_contact("en", "A", "B", "", ""), "A, B");
        assert_eq!(who_contact("ja", "佐藤", "国際交流課", "ja", "教育"), "佐藤、国際交流課（ja／担当分野：教育）");
        assert_eq!(
            answer("en", &Answer::WhoNoTopic { city: "Gifu", topic: "sewers", id: "gifu" }),
            "No contact in Gifu lists the topic “sewers”. Answer /who gifu to see all its contacts."
        );
        assert_eq!(
            answer("en", &Answer::WhoNotAPartner { asked: "Lyon" }),
            "None of your city's partners is called “Lyon”. The bridge shares contacts between partners only."
        );
    }

    #[test]
    fn status_lists_its_lines_under_a_heading() {
        let lines = vec!["“A”: reply awaited by Leeds, due 5 Jan".to_owned(), "“B” (b): due 9 Jan".to_owned()];
        assert_eq!(
            answer("en", &Answer::Status { lines: &lines }),
            "Open items for your city in this partnership:\n- “A”: reply awaited by Leeds, due 5 Jan\n- “B” (b): due 9 Jan"
        );
        for lang in LANGUAGES {
            let text = answer(lang, &Answer::Status { lines: &lines });
            assert!(text.ends_with(&format!("\n- {}\n- {}", lines[0], lines[1])), "{lang}: {text}");
            assert_eq!(answer(lang, &Answer::Status { lines: &[] }), answer(lang, &Answer::NothingOwed), "{lang}");
        }
    }

    #[test]
    fn no_text_has_emoji_or_a_line_break_except_the_status_list() {
        for lang in LANGUAGES {
            for s in samples(lang) {
                let emoji = s.text.chars().find(|c| matches!(*c as u32, 0x1F000..=0x1FAFF | 0x2600..=0x27BF));
                assert_eq!(emoji, None, "{lang} {}", s.name);
                let a_list = matches!(s.name, "Status" | "Who" | "Who outside working hours");
                assert!(a_list || !s.text.contains('\n'), "{lang} {}", s.name);
            }
        }
    }

    #[test]
    fn arabic_sets_values_and_commands_apart_from_the_right_to_left_text() {
        let text = reply_overdue("ar", SUBJECT, WAITING, SINCE);
        assert!(text.contains(&format!("\u{2068}{SINCE}\u{2069}")), "{text}");
        assert!(text.contains("\u{2066}/snooze 3d\u{2069}"), "{text}");
        assert!(deliverable_due("ar", TITLE, ID, DUE).contains(&format!("\u{2066}/done {ID}\u{2069}")));
        // No other language needs them.
        for lang in LANGUAGES.into_iter().filter(|&l| l != "ar") {
            for s in samples(lang) {
                assert!(!s.text.contains(['\u{2066}', '\u{2068}', '\u{2069}']), "{lang} {}", s.name);
            }
        }
    }

    #[test]
    fn a_command_copied_from_an_arabic_reminder_is_read_back_as_that_command() {
        let text = deliverable_due("ar", TITLE, ID, DUE);
        // What an officer selects: the command with the invisible marks around it.
        let start = text.find('\u{2066}').unwrap();
        let end = start + text[start..].find('\u{2069}').unwrap() + '\u{2069}'.len_utf8();
        let copied = &text[start..end];
        assert_eq!(command::parse(copied), Parsed::Command(Command::Done(ID.into())), "{copied:?}");
        let text = reply_overdue("ar", SUBJECT, WAITING, SINCE);
        let snooze = text.rfind('\u{2066}').unwrap();
        let end = snooze + text[snooze..].find('\u{2069}').unwrap() + '\u{2069}'.len_utf8();
        assert!(matches!(command::parse(&text[snooze..end]), Parsed::Command(Command::Snooze(_))));
    }
}
