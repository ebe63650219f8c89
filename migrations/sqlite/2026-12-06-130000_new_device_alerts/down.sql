DROP INDEX ix_not_me_answers_answered_at;
DROP TABLE not_me_answers;
DROP TABLE account_logins;
