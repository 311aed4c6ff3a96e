-- Webhook mode (OPEKA_NOTIFICATIONS__WEBHOOK_BASE_URL): the secret token
-- Telegram sends in X-Telegram-Bot-Api-Secret-Token with every update of the
-- tenant's bot. Random, generated the first time the bot starts in webhook
-- mode and kept until the bot token changes; stored encrypted like the token
-- (AES-256-GCM, see crypto.rs) so every replica accepts the same secret.
alter table channel_settings add column webhook_secret_enc bytea;
