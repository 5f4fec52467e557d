//! The sentences the bridge itself says, in the partnership's language where we have them
//! (English otherwise). Kept short and polite: nodal officers read them in their own clients.

/// "This partnership lives on X": the one-time notice when a message was relayed although it
/// was written on another channel than the city's agreed one.
pub fn relayed_from_other_channel(lang: &str, partnership: &str, city: &str, agreed: &str) -> String {
    match lang {
        "zh" => format!(
            "提示：合作关系 {partnership} 中，{city} 约定使用的沟通渠道是 {agreed}。本条消息已照常转发，今后请在 {agreed} 上继续沟通。"
        ),
        "ja" => format!(
            "お知らせ：パートナーシップ {partnership} では、{city} の合意された連絡手段は {agreed} です。今回のメッセージは転送しましたが、今後は {agreed} でご連絡ください。"
        ),
        "fr" => format!(
            "Pour information : dans le partenariat {partnership}, le canal convenu pour {city} est {agreed}. Votre message a été transmis ; merci de poursuivre sur {agreed}."
        ),
        "es" => format!(
            "Aviso: en la asociación {partnership}, el canal acordado para {city} es {agreed}. Su mensaje se ha reenviado; por favor, continúe en {agreed}."
        ),
        _ => format!(
            "Note: in the partnership {partnership}, the agreed channel for {city} is {agreed}. Your message was relayed; please continue on {agreed}."
        ),
    }
}

/// Why a message was not relayed under the `reject` rule.
pub fn rejected_other_channel(lang: &str, partnership: &str, city: &str, agreed: &str) -> String {
    match lang {
        "zh" => {
            format!("未转发：合作关系 {partnership} 中，{city} 约定使用的沟通渠道是 {agreed}，请在 {agreed} 上发送。")
        }
        "ja" => format!(
            "転送されませんでした：パートナーシップ {partnership} では、{city} の合意された連絡手段は {agreed} です。{agreed} でお送りください。"
        ),
        "fr" => format!(
            "Non transmis : dans le partenariat {partnership}, le canal convenu pour {city} est {agreed}. Merci d'écrire sur {agreed}."
        ),
        "es" => format!(
            "No reenviado: en la asociación {partnership}, el canal acordado para {city} es {agreed}. Por favor, escriba por {agreed}."
        ),
        _ => format!(
            "Not relayed: in the partnership {partnership}, the agreed channel for {city} is {agreed}. Please write on {agreed}."
        ),
    }
}

/// A delivery of the author's message failed for good.
pub fn delivery_failed(lang: &str, subject: &str, recipient: &str, reason: &str) -> String {
    match lang {
        "zh" => format!("您的消息（主题：{subject}）无法送达 {recipient}：{reason}。其他收件人不受影响。"),
        "ja" => format!(
            "メッセージ（件名：{subject}）を {recipient} に配信できませんでした：{reason}。他の宛先には影響ありません。"
        ),
        "fr" => format!(
            "Votre message « {subject} » n'a pas pu être remis à {recipient} : {reason}. Les autres destinataires ne sont pas concernés."
        ),
        "es" => format!(
            "Su mensaje «{subject}» no se pudo entregar a {recipient}: {reason}. Los demás destinatarios no se ven afectados."
        ),
        _ => format!(
            "Your message \"{subject}\" could not be delivered to {recipient}: {reason}. Other recipients are not affected."
        ),
    }
}

/// A delivery of the author's message is still pending after `delay_warning_after`; the
/// bridge keeps trying until `until`.
pub fn delayed(lang: &str, subject: &str, recipient: &str, reason: &str, until: &str) -> String {
    match lang {
        "zh" => format!(
            "您的消息（主题：{subject}）尚未送达 {recipient}：{reason}。系统将继续尝试，直至 {until}；如仍无法送达，会再通知您。"
        ),
        "ja" => format!(
            "メッセージ（件名：{subject}）はまだ {recipient} に届いていません：{reason}。{until} まで配信を試み続け、届けられなかった場合はお知らせします。"
        ),
        "fr" => format!(
            "Votre message « {subject} » n'a pas encore été remis à {recipient} : {reason}. Le pont réessaie jusqu'au {until} et vous préviendra s'il n'y parvient pas."
        ),
        "es" => format!(
            "Su mensaje «{subject}» aún no se ha entregado a {recipient}: {reason}. El puente seguirá intentándolo hasta el {until} y le avisará si no lo consigue."
        ),
        _ => format!(
            "Your message \"{subject}\" has not reached {recipient} yet: {reason}. The bridge keeps trying until {until} and will tell you if it cannot deliver it."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_languages_fall_back_to_english() {
        assert!(relayed_from_other_channel("xx", "p", "Leeds", "email").starts_with("Note:"));
        assert!(rejected_other_channel("zh", "p", "Leeds", "email").contains("email"));
        assert!(delivery_failed("en", "S", "Hangzhou (webhook)", "HTTP 404").contains("HTTP 404"));
        let d = delayed("en", "S", "Hangzhou (webhook)", "HTTP 503", "2027-01-05 14:00 UTC");
        assert!(d.contains("HTTP 503") && d.contains("2027-01-05 14:00 UTC"), "{d}");
        assert!(delayed("ja", "S", "Hangzhou (webhook)", "HTTP 503", "2027-01-05").contains("2027-01-05"));
    }
}
