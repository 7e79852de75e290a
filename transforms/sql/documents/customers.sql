-- customers: one row per customer, with what its documents need: currency, invoice cadence,
-- VAT rate, and the buyer details kept with each document (documents.BUYER_COLUMNS).
select customer_id, name, currency, invoice_cadence, tax_rate_percent,
       street, city, postal_code, country, vat_id, company_id, email, endpoint,
       buyer_reference, language, tax_category, tax_exemption_reason
from stg_customers
