//! Reading files from outside: CSV exports of companies, CRM exports, exchange-rate files.

pub mod crm;
pub mod csv_file;
pub mod fx;
