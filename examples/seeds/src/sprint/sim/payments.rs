//! Payments of accepted tasks and the receipts that fulfil them, right or wrong.

use super::*;

impl<S: Store> Sim<'_, S> {
    pub(super) fn pay(&mut self, i: usize) -> Result<(), SimError> {
        let Some(task::AnyItem::Accepted(accepted)) = &self.tasks[i].item else {
            return Err(SimError::Unexpected(format!(
                "task {i} is paid but not accepted"
            )));
        };
        let task_id = accepted.id();
        let records = task_records(accepted)?;
        let payee = records.contributor.unwrap_or_default();
        let amount = records.award.map(|a| a.amount).unwrap_or_default();
        let fields = json!({
            "sprint": self.number,
            "task": task_id.0,
            "payee": payee,
            "amount": amount,
            "currency": CURRENCY,
            "policy_hash": policy_hash().to_string(),
        });
        let new = NewItem::of(payment::NAME)
            .parent(task_id)
            .fields(fields)
            .reason("the award of an accepted task");
        let created = payment::create_with(self.engine, &self.cast.treasurer, new);
        let pending = self.wrote("record a payment", created)?;
        self.payments.push(Payment {
            id: pending.id(),
            pending: Some(pending),
            payee,
            amount,
            conflict_tried: false,
        });
        let delay = self.rng.range(1440, 5760);
        self.schedule(delay, Job::Receipt(self.payments.len() - 1));
        Ok(())
    }

    pub(super) fn receipt_for(&mut self, j: usize) -> Receipt {
        let payment = &self.payments[j];
        Receipt {
            external_ref: Some(format!("rcpt-{:012x}", self.rng.next_u64() >> 16)),
            payment: payment.id.0,
            payee: payment.payee.clone(),
            amount: payment.amount.clone(),
            currency: CURRENCY.to_owned(),
        }
    }

    pub(super) fn receipt(&mut self, j: usize) -> Result<(), SimError> {
        let pending = self.payments[j]
            .pending
            .take()
            .ok_or_else(|| SimError::Unexpected(format!("payment {j} is not pending")))?;
        let mut receipt = self.receipt_for(j);
        if !self.payments[j].conflict_tried && self.rng.chance(60) {
            // The provider's receipt names another amount.
            self.payments[j].conflict_tried = true;
            receipt.amount = format_cents(AWARD_CENTS / 10);
            let with = With::new().patch(json!({ "receipt": receipt }));
            let fulfilled = pending.fulfil_with(self.engine, &self.cast.treasurer, with);
            let back = self.refused(
                "a receipt that conflicts with the payment",
                &["receipt_matches"],
                fulfilled,
            )?;
            self.payments[j].pending = Some(back);
            let delay = self.rng.range(720, 2880);
            self.schedule(delay, Job::Receipt(j));
            return Ok(());
        }
        let with = With::new()
            .patch(json!({ "receipt": receipt }))
            .reason("receipt from the payment provider");
        let fulfilled = pending.fulfil_with(self.engine, &self.cast.treasurer, with);
        self.moved("fulfil", fulfilled)?;
        if self.rng.chance(30) {
            let delay = self.rng.range(1440, 14_400);
            self.schedule(delay, Job::LateReceipt(j));
        }
        Ok(())
    }

    /// A second receipt for a fulfilled payment. The typed API cannot express it (a
    /// fulfilled payment has no methods), so it comes through the dynamic API, as a
    /// provider's callback would, and the engine refuses it.
    pub(super) fn late_receipt(&mut self, j: usize) -> Result<(), SimError> {
        let id = self.payments[j].id;
        let receipt = self.receipt_for(j);
        let mv = Move::transition("fulfil").patch(json!({ "receipt": receipt }));
        match self.engine.advance(id, &self.cast.treasurer, mv) {
            Err(e)
                if e.refused()
                    .is_some_and(|r| refused_has(r, &["not_allowed"])) =>
            {
                if let Some(refused) = e.refused() {
                    self.record("a second receipt for a fulfilled payment", refused);
                }
                Ok(())
            }
            Err(e) if e.refused().is_some() => Err(SimError::Unexpected(format!(
                "a second receipt for payment {id}: {e}"
            ))),
            Err(e) => Err(SimError::Engine(e)),
            Ok(_) => Err(SimError::Unexpected(format!(
                "payment {id} took a second receipt"
            ))),
        }
    }
}
