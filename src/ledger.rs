//! Ledger entries: the GL and SL lines the matcher pairs and the gate reasons about.
//! Shared by `gate`, `recon`, `store` and the seed packs. No I/O.
//!
//! The JSON shape is the accuracy-case entry format (issue 4), with the amount as a decimal
//! string and the currency beside it:
//! `{"entry_id": "GL-1", "side": "GL", "entity": "US-PARENT", "account": "1200",
//!   "amount": "4500.00", "currency": "USD", "date": "2026-04-03",
//!   "counterparty": "Acme Corp", "reference": "INV-1001"}`

use crate::money::{Currency, Money};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Which book an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Side {
    /// General ledger.
    #[serde(rename = "GL")]
    Gl,
    /// Subledger (bank, AR, AP, payments processor).
    #[serde(rename = "SL")]
    Sl,
}

impl Side {
    /// `GL` or `SL`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Side::Gl => "GL",
            Side::Sl => "SL",
        }
    }
}

/// One ledger line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    /// Unique id within a book set, e.g. `GL-1001`.
    pub entry_id: String,
    /// GL or SL.
    pub side: Side,
    /// Entity id.
    pub entity: String,
    /// Account number.
    pub account: String,
    /// Signed amount in minor units of its currency.
    pub amount: Money,
    /// Booking or value date.
    pub date: NaiveDate,
    /// Counterparty name as booked, if any.
    pub counterparty: Option<String>,
    /// Reference (invoice number, payment id), if any.
    pub reference: Option<String>,
}

/// The wire form of an entry (amount as a decimal string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryRecord {
    /// See [`Entry::entry_id`].
    pub entry_id: String,
    /// See [`Entry::side`].
    pub side: Side,
    /// See [`Entry::entity`].
    pub entity: String,
    /// See [`Entry::account`].
    pub account: String,
    /// Decimal string in major units.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
    /// `YYYY-MM-DD`.
    pub date: NaiveDate,
    /// See [`Entry::counterparty`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterparty: Option<String>,
    /// See [`Entry::reference`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// Why an [`EntryRecord`] is not a valid [`Entry`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Unknown currency code.
    #[error("entry `{entry}`: `{code}` is not an ISO 4217 currency code")]
    Currency {
        /// Entry id.
        entry: String,
        /// The code given.
        code: String,
    },
    /// Bad amount.
    #[error("entry `{entry}`: {error}")]
    Amount {
        /// Entry id.
        entry: String,
        /// What is wrong.
        error: crate::money::AmountError,
    },
}

impl TryFrom<EntryRecord> for Entry {
    type Error = EntryError;

    fn try_from(r: EntryRecord) -> Result<Entry, EntryError> {
        let currency = Currency::from_code(&r.currency).ok_or_else(|| EntryError::Currency {
            entry: r.entry_id.clone(),
            code: r.currency.clone(),
        })?;
        let amount = Money::parse(&r.amount, currency).map_err(|error| EntryError::Amount {
            entry: r.entry_id.clone(),
            error,
        })?;
        Ok(Entry {
            entry_id: r.entry_id,
            side: r.side,
            entity: r.entity,
            account: r.account,
            amount,
            date: r.date,
            counterparty: r.counterparty,
            reference: r.reference,
        })
    }
}

impl From<&Entry> for EntryRecord {
    fn from(e: &Entry) -> EntryRecord {
        EntryRecord {
            entry_id: e.entry_id.clone(),
            side: e.side,
            entity: e.entity.clone(),
            account: e.account.clone(),
            amount: e.amount.to_string(),
            currency: e.amount.currency.code().to_string(),
            date: e.date,
            counterparty: e.counterparty.clone(),
            reference: e.reference.clone(),
        }
    }
}
