import { entraIdentityOf } from '../../shared/telemetry/azureMonitor';

describe('entraIdentityOf', () => {
  it('takes the user-assigned identity the host setting names', () => {
    expect(
      entraIdentityOf('Authorization=AAD;ClientId=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0'),
    ).toEqual({ clientId: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0' });
    expect(entraIdentityOf('ClientId=abc; authorization = aad')).toEqual({ clientId: 'abc' });
  });

  it('takes the system-assigned identity without a client id', () => {
    expect(entraIdentityOf('Authorization=AAD')).toEqual({});
  });

  it('asks for no identity when the setting is unset or not Entra ID', () => {
    expect(entraIdentityOf(undefined)).toBeUndefined();
    expect(entraIdentityOf('')).toBeUndefined();
    expect(entraIdentityOf('ClientId=abc')).toBeUndefined();
  });
});
