-- wrk script: POST one 36-month simulation.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"principal": 25000000, "annual_rate": "3", "tenor_months": 36, "method": "annuity", "disbursement_date": "2026-01-15"}'
