//! End-to-end scenarios across services, in one test binary (one link instead of
//! one per file): each module is one scenario area.
mod account_pages;
mod appeal_files;
mod appeal_references_page;
mod appeal_work_items_page;
mod appeals_pages;
mod attack_every_rpc;
mod browser;
mod browser_appeals;
mod browser_citizens;
mod bus_auth;
mod citizens;
mod db_roles;
mod gateway;
mod legal_aid_pages;
mod outbox;
mod paging;
mod patronage;
mod program_pages;
mod reflection;
mod reminders;
mod resilience;
mod revocation;
mod settings_pages;
mod trace;
